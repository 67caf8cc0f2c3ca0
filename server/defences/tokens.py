"""Comparing secrets a client sends (CSRF tokens, TOTP codes) with ours."""

from __future__ import annotations

import hmac


def same_token(expected: str, submitted: str) -> bool:
    """Constant-time equality of two secrets given as text, for any characters.

    ``hmac.compare_digest`` raises ``TypeError`` on ``str`` holding anything
    but ASCII, which a client may send; compared as UTF-8 bytes (lone
    surrogates kept), a hostile value is simply not equal.
    """
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), submitted.encode("utf-8", "surrogatepass"))
