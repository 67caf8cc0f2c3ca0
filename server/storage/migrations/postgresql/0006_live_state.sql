-- Live state shared by the nodes: reporter and staff sessions, login throttles
-- (server/storage/migrations/0006_live_state.sql for SQLite, which says what
-- each column holds). UNLOGGED: these rows never reach the write-ahead log, so
-- neither WAL archives nor replicas hold them; a PostgreSQL crash empties the
-- tables, which logs everyone out and forgets the throttles' counts.

CREATE UNLOGGED TABLE reporter_sessions (
    id         BYTEA PRIMARY KEY,
    sealed     BYTEA NOT NULL,
    idle_until BIGINT NOT NULL,
    end_by     BIGINT NOT NULL
);

CREATE UNLOGGED TABLE staff_sessions (
    id         BYTEA PRIMARY KEY,
    staff_id   TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    idle_until BIGINT NOT NULL,
    end_by     BIGINT NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions(staff_id);

CREATE UNLOGGED TABLE login_failures (
    id           BYTEA PRIMARY KEY,
    failures     BIGINT NOT NULL CHECK (failures > 0),
    wait_until   BIGINT NOT NULL,
    forget_after BIGINT NOT NULL
);

CREATE UNLOGGED TABLE rate_windows (
    scope        TEXT NOT NULL,
    epoch_minute BIGINT NOT NULL,
    events       BIGINT NOT NULL CHECK (events >= 0),
    PRIMARY KEY (scope, epoch_minute)
);
