-- Live state shared by the nodes of a deployment on PostgreSQL (docs/storage.md):
-- reporter and staff sessions and login throttles. SQLite keeps these in the
-- server's memory (one process owns a data folder), so here the tables stay
-- empty; they exist so that both engines hold the same schema.
-- Times are whole minutes since the Unix epoch, live state only: a row is
-- deleted when it expires. No account id, key or lookup in clear.

-- A reporter session: the row's id is a hash of the cookie's secret, and
-- `sealed` (the account id and the mailbox key) is sealed under a key derived
-- from that same secret, which only the cookie holds.
CREATE TABLE reporter_sessions (
    id         BLOB PRIMARY KEY,
    sealed     BLOB NOT NULL,
    idle_until INTEGER NOT NULL,   -- ends at this minute without a request
    end_by     INTEGER NOT NULL    -- ends at this minute whatever happens
) WITHOUT ROWID;

-- A staff session: staff are not anonymous, so the member's id is in clear
-- (a password change or a disabled account ends their sessions on every node).
CREATE TABLE staff_sessions (
    id         BLOB PRIMARY KEY,
    staff_id   TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    idle_until INTEGER NOT NULL,
    end_by     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX staff_sessions_staff ON staff_sessions(staff_id);

-- Failed logins per account: `id` is a keyed hash of the account's lookup (or
-- the staff username), which joins to no other table.
CREATE TABLE login_failures (
    id           BLOB PRIMARY KEY,
    failures     INTEGER NOT NULL CHECK (failures > 0),
    wait_until   INTEGER NOT NULL,  -- no attempt before this minute (0: none held)
    forget_after INTEGER NOT NULL   -- the count is forgotten at this minute (a day's end)
) WITHOUT ROWID;

-- Events per minute, for limits shared by the nodes: failed logins over all
-- accounts, new accounts. Only this minute's and the previous one's are kept.
CREATE TABLE rate_windows (
    scope        TEXT NOT NULL,
    epoch_minute INTEGER NOT NULL,
    events       INTEGER NOT NULL CHECK (events >= 0),
    PRIMARY KEY (scope, epoch_minute)
) WITHOUT ROWID;
