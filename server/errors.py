"""Errors of the online server, each mapped to one HTTP status and one message.

    WbsError (crypto.errors)
    └── ServerError                 base of the server's errors; never raised itself
        ├── ConfigError             the configuration cannot work (start-up only)
        ├── StoreError              the data folder is missing or not usable
        │   ├── TransferError       a store cannot be copied (wbs migrate-store, wbs backup), or its copy differs
        │   └── Conflict       409  the database refused a change (a constraint; either engine)
        ├── JobRunning              another node runs this once-per-deployment job right now
        ├── KeyInstallError         org.pub.json cannot be installed
        ├── ProxyLineError          a connection's PROXY line is missing or malformed (never an HTTP answer)
        ├── NotFound           404
        ├── BadRequest         400  a request no form of ours would send
        ├── CsrfError          403  the form's token is missing or stale
        ├── Forbidden          403  a staff page for admins only
        ├── PayloadTooLarge    413  a file, the report or a field is over its limit
        ├── TooManyAttempts    429  login throttled for this account or this circuit
        │   └── TooManyReports 429  reports from this circuit come too fast
        ├── UploadStalled      408  an upload sent nothing, or too little, for too long
        ├── UploadAborted      400  the client went away in the middle of an upload
        ├── Busy               503  the key-derivation pool or the new-account rate is full
        │   └── UploadsBusy    503  as many uploads as allowed are running
        ├── NoOrgKey           503  no organisation key is installed yet
        └── DiskFull           507  the server lacks room to store more
            └── FormNotStored  507  ... found while a form was read: its text is re-shown

The middleware turns each into a page in the visitor's language from the
``message_key``; the English docstrings are for logs and the command line.
"""

from __future__ import annotations

from crypto.errors import WbsError
from locales import N_


class ServerError(WbsError):
    status = 500
    message_key = N_("Something went wrong on the server. An unfinished report was not stored; please try again.")


class ConfigError(ServerError):
    """The configuration cannot work."""


class StoreError(ServerError):
    """The data folder is missing or not usable."""


class TransferError(StoreError):
    """A store cannot be copied into another, or the copy differs from it."""


class JobRunning(ServerError):
    """Another node of this deployment runs this job right now (it holds the job's lock)."""


class Conflict(StoreError):
    """The database refused a change: a row it names is gone, or one it adds exists already.

    Raised by both engines' transactions for what SQLite calls ``IntegrityError`` and
    PostgreSQL an integrity constraint violation (or a trigger's refusal): callers
    outside ``server/storage/`` never see a driver's exception. With more than one
    node it is what a write meets when another node deleted its report first.
    """

    status = 409


class KeyInstallError(ServerError):
    """The public key file cannot be installed."""


class ProxyLineError(ServerError):
    """The connection did not start with a valid PROXY protocol v1 line."""


class NotFound(ServerError):
    """Not found."""

    status = 404
    message_key = N_("Page not found.")


class BadRequest(ServerError):
    """The request could not be understood."""

    status = 400
    message_key = N_("The request could not be understood.")


class CsrfError(ServerError):
    """The form has expired; reload the page and send it again."""

    status = 403
    message_key = N_("The form has expired. Reload the page and send it again.")


class PayloadTooLarge(ServerError):
    """The upload is larger than allowed."""

    status = 413
    message_key = N_("A file or the report is too large. The limits are %(file_size)s per file, %(report_size)s per "
                     "report and %(count)s files. Nothing was stored; send again with smaller files.")


class Forbidden(ServerError):
    """This page is for admins only."""

    status = 403
    message_key = N_("This page is for admins only.")


class TooManyAttempts(ServerError):
    """Too many login attempts; wait and try again."""

    status = 429
    message_key = N_("Too many login attempts. Wait a few minutes and try again.")


class TooManyReports(TooManyAttempts):
    """Too many reports in a short time; wait and send again."""

    message_key = N_("Too many reports in a short time. Wait a few minutes and send again.")


class Busy(ServerError):
    """The server is busy; try again in a moment."""

    status = 503
    message_key = N_("The server is busy. Try again in a moment.")


class UploadsBusy(Busy):
    """As many uploads as allowed are running; try again in a moment."""

    message_key = N_("Many uploads are in progress right now. Wait a moment, then send again; yours has not been "
                     "received.")


class UploadStalled(ServerError):
    """An upload sent nothing, or too little, for too long: it was abandoned."""

    status = 408
    message_key = N_("The upload stopped or was too slow, so it was cancelled. Nothing was stored; please send again.")


class UploadAborted(ServerError):
    """The client closed the connection in the middle of an upload."""

    status = 400
    message_key = N_("The request could not be understood.")


class NoOrgKey(ServerError):
    """No organisation key is installed yet."""

    status = 503
    message_key = N_("The site cannot receive reports yet: the Inspectorate's key is not installed.")


class DiskFull(ServerError):
    """The server has no room to store reports right now."""

    status = 507
    message_key = N_("The server cannot store reports right now. Try again later.")


class FormNotStored(DiskFull):
    """No room while a form was read: its files are gone, its text is kept to be shown again."""

    def __init__(self, values: dict[str, str], had_files: bool) -> None:
        super().__init__()
        self.values = values
        self.had_files = had_files
