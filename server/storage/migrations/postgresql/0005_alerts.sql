-- The daily digest's state, one row at most; days only, a short reason, never a
-- server's answer (server/storage/migrations/0005_alerts.sql for SQLite).

CREATE TABLE alert_state (
    id           BIGINT PRIMARY KEY CHECK (id = 1),
    sent_day     TEXT,
    covered_from TEXT,
    failed_day   TEXT,
    failures     BIGINT NOT NULL DEFAULT 0 CHECK (failures >= 0),
    reason       TEXT NOT NULL DEFAULT ''
);
