-- What each reporter has seen of the Inspektorat's answers: a count per report,
-- never a day or time (server/storage/migrations/0004_seen.sql for SQLite).

CREATE TABLE seen (
    report_code TEXT PRIMARY KEY REFERENCES reports(code) ON DELETE CASCADE,
    answers     BIGINT NOT NULL CHECK (answers >= 0)
);
