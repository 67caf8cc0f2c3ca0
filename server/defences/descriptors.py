"""The process's open-file limit, and how many connections each listener may hold within it.

Every connection is a descriptor, and so is every file the server opens for
it. When the process runs out, ``accept()`` fails on *both* listeners and
nothing is served until descriptors come back (issue 12, finding 1). Two
things prevent that:

- At start-up the soft ``RLIMIT_NOFILE`` is raised to the hard one (systemd
  gives services 1,024 soft and 524,288 hard unless ``LimitNOFILE`` says
  otherwise; ``deploy/wbs.service`` sets it).
- Each listener gets its own cap on open connections, and the caps plus a
  reserve fit inside the limit: ``2 x (reporter + staff) + RESERVED <=
  limit``. Two descriptors per connection, because a connection may hold one
  file besides its socket (the temp blob of an upload, a blob being sent);
  the reserve holds the store (SQLite and its journal files; with
  ``[[tenants]]``, every tenant's store is added to it), the event
  loop's own descriptors, standard streams, and the connections the loop may
  accept in one go beyond a full listener before it closes them (up to
  ``ACCEPT_BACKLOG`` per listener). So a flood on the reporter side fills the
  reporter's cap and nothing more: the staff side, the store and uploads
  already running keep their descriptors.

When the limit is too small for the configured caps, the staff side is
served first (up to a quarter of what is usable), the reporter side gets the
rest; below ``MIN_OPEN_FILES`` the server refuses to start.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass

from server.errors import ConfigError

ACCEPT_BACKLOG = 128  # listen() backlog; asyncio also accepts up to this many per loop turn
PER_CONNECTION = 2  # the socket, and at most one file opened for it
RESERVED = 64 + PER_CONNECTION * ACCEPT_BACKLOG
MIN_PER_LISTENER = 8
MIN_OPEN_FILES = RESERVED + PER_CONNECTION * 2 * MIN_PER_LISTENER
STORE_FILES = 3  # each tenant's own store beyond the reserve's one: its database, WAL and shared-memory files
# When the hard limit is "unlimited", the kernel still refuses more than fs.nr_open (1,048,576 by default).
UNLIMITED_TARGET = 1 << 20


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass  # the soft limit stays; plan_connections fits the caps to it
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return UNLIMITED_TARGET if soft == resource.RLIM_INFINITY else soft


@dataclass(frozen=True)
class ConnectionPlan:
    """The open-file limit and the connection cap of each listener fitted to it."""

    open_files: int
    reporter: int
    staff: int


def plan_connections(open_files: int, reporter_max: int, staff_max: int, tenants: int = 0) -> ConnectionPlan:
    """Caps for both listeners within ``open_files``; ``ConfigError`` when even the minimum does not fit.

    ``tenants``: how many ``[[tenants]]``; each holds its store's descriptors open besides the reserve.
    """
    stores = STORE_FILES * tenants
    if open_files < MIN_OPEN_FILES + stores:
        held = f" ({tenants} tenants' databases hold {stores} of them)" if tenants else ""
        raise ConfigError(
            f"the open-file limit ({open_files}) is too low: the server needs at least {MIN_OPEN_FILES + stores}"
            f"{held}; raise LimitNOFILE in wbs.service (or 'ulimit -n')")
    usable = (open_files - RESERVED - stores) // PER_CONNECTION
    staff = min(staff_max, max(MIN_PER_LISTENER, usable // 4))
    reporter = min(reporter_max, usable - staff)
    return ConnectionPlan(open_files, reporter, staff)
