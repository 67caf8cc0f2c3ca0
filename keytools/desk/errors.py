"""What a desk request can fail with; the frame turns each into a page.

    KeytoolsError (keytools.errors)
    └── DeskError          a request the desk refuses; ``status`` is its HTTP status
        ├── BadRequest     a form that is malformed, too large, or without its CSRF token
        ├── NotFound       no such case, attachment or page
        └── Busy           the keyring is being opened, or other work is running

Every other ``KeytoolsError`` (a damaged bundle, a reply that is empty) is
shown with its message and hint as a 400 page; the message (Indonesian,
then English: ``labels.bilingual``) is the first argument, else the class's
``message`` (a msgid of the catalogs, ``locales/``) in both languages.
"""

from __future__ import annotations

from locales import N_

from ..errors import KeytoolsError
from ..labels import bilingual


class DeskError(KeytoolsError):
    status = 400
    message = N_("The request could not be processed.")

    def __init__(self, message: str | None = None, *, hint: str | None = None) -> None:
        super().__init__(message or bilingual(self.message), hint=hint)


class BadRequest(DeskError):
    """The request could not be processed."""


class NotFound(DeskError):
    """This page, case or attachment does not exist."""

    status = 404
    message = N_("This page, case or attachment does not exist.")


class Busy(DeskError):
    """The desk is busy; try again in a moment."""

    status = 503
    message = N_("The desk is busy; try again in a moment.")


def message_of(exc: DeskError) -> str:
    return str(exc)
