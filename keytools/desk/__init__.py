"""The keyholder desk: ``wbs-keytools desk``, a small web app on the offline workstation.

It serves plain HTML (no script) on a loopback address only, holds the
unlocked keyring in memory while it is in use, and does its work with the
same functions as the commands (``opener.open_bundle``,
``replies.queue_replies``, ``outbox.Outbox``, ``reader.render_reader``):

    config.py   the address (loopback only) and folders
    state.py    the keyring in memory, the session, the idle lock
    frame.py    headers, the Host check, CSRF, rendering, errors turned into pages
    errors.py   what a request can fail with (each a page and a status)
    views.py    the pages; routes.py names every URL; app.py builds and runs it
    appkeys.py  every web.AppKey
    uploads.py  an export bundle streamed from a form to a file
    seen.py     which items each case had at the last visit

Notes (``keytools.notes``), metadata-cleaned copies (``keytools.cleaned``)
and the outbox (``keytools.outbox``) live beside the commands' modules: they
are about the cases folder, not about the web.
"""
