"""The keyholder desk: ``wbs-keytools desk``, a small web app on the offline workstation.

It serves plain HTML (no script) on a loopback address only, holds the
unlocked keyring in memory while it is in use, and does its work with the
same functions as the commands (``opener.open_bundle``,
``replies.queue_replies``, ``outbox.Outbox``, ``reader.render_reader``):

    config.py   the address (loopback only) and folders
    state.py    the keyring in memory, the session, the idle lock
    frame.py    headers, CSRF, rendering, errors turned into pages
    views.py    the pages; routes.py names every URL; app.py builds and runs it
    uploads.py  an export bundle streamed from a form to a file
    seen.py     which items each case had at the last visit
"""
