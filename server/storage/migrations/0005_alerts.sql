-- The daily digest by e-mail (server/operations/alerts.py): which day it was last sent,
-- which days it counted, and whether sending is failing. One row at most.
-- Days only, like every other table: the day of a failed attempt, never its time,
-- and the failure as a short reason ("refused", "auth", ...), never a server's answer.

CREATE TABLE alert_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    sent_day     TEXT,                      -- the day of the last digest sent (NULL: never)
    covered_from TEXT,                      -- the first day that digest counted (it counted through sent_day - 1)
    failed_day   TEXT,                      -- the day of the last failed attempt since the last success
    failures     INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),  -- failed attempts since the last success
    reason       TEXT NOT NULL DEFAULT ''
);
