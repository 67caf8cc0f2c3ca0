"""What a desk request can fail with; the frame turns each into a page.

    KeytoolsError (keytools.errors)
    └── DeskError          a request the desk refuses; ``status`` is its HTTP status
        ├── BadRequest     a form that is malformed, too large, or without its CSRF token
        ├── NotFound       no such case, attachment or page
        └── Busy           the keyring is being opened, or other work is running

Every other ``KeytoolsError`` (a damaged bundle, a reply that is empty) is
shown with its message and hint as a 400 page; the message (Indonesian,
then English) is the first argument.
"""

from __future__ import annotations

from ..errors import KeytoolsError


class DeskError(KeytoolsError):
    status = 400


class BadRequest(DeskError):
    """Permintaan tidak dapat diproses. / The request could not be processed."""


class NotFound(DeskError):
    """Halaman, kasus, atau lampiran ini tidak ada. / This page, case or attachment does not exist."""

    status = 404


class Busy(DeskError):
    """Meja kerja sedang sibuk; coba lagi sebentar lagi. / The desk is busy; try again in a moment."""

    status = 503


def message_of(exc: DeskError) -> str:
    return str(exc) if exc.args and exc.args[0] else (type(exc).__doc__ or "").strip()
