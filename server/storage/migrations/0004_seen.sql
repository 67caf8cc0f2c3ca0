-- What each reporter has seen of the Inspektorat's answers, so the mailbox
-- can mark "Balasan baru". One count per report (replies plus status changes
-- the reporter's last visit to the case page showed), never a day or time:
-- the row says how much was read, not when.

CREATE TABLE seen (
    report_code TEXT PRIMARY KEY REFERENCES reports(code) ON DELETE CASCADE,
    answers     INTEGER NOT NULL CHECK (answers >= 0)
) WITHOUT ROWID;
