-- Reporter-side tables. Every table is WITHOUT ROWID and keyed by random
-- values, so the database keeps no global insertion order: within a day,
-- nobody can tell which report came before which.

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,          -- 32 random hex
    lookup      BLOB NOT NULL UNIQUE,      -- BLAKE2b-256(codename, key=instance secret)
    salt        BLOB NOT NULL,
    kdf_t       INTEGER NOT NULL,
    kdf_m_kib   INTEGER NOT NULL,
    kdf_p       INTEGER NOT NULL,
    mailbox_pk  BLOB NOT NULL,
    created_day TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE reports (
    code        TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    created_day TEXT NOT NULL,
    updated_day TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX reports_account ON reports(account_id);

CREATE TABLE status_history (
    report_code TEXT NOT NULL REFERENCES reports(code) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    day         TEXT NOT NULL,
    PRIMARY KEY (report_code, position)
) WITHOUT ROWID;

CREATE TABLE items (
    item_id     TEXT PRIMARY KEY,          -- 32 random hex
    report_code TEXT NOT NULL REFERENCES reports(code) ON DELETE CASCADE,
    position    INTEGER NOT NULL,          -- order within the report's thread
    kind        TEXT NOT NULL CHECK (kind IN ('report', 'message', 'reply', 'attachment')),
    author      TEXT NOT NULL CHECK (author IN ('reporter', 'staff', 'keyholder')),
    parent_id   TEXT REFERENCES items(item_id) ON DELETE CASCADE,
    size        INTEGER NOT NULL,          -- of the envelope, which is padded
    sha256      TEXT NOT NULL,             -- of the envelope
    created_day TEXT NOT NULL,
    exported    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (report_code, position)
) WITHOUT ROWID;
CREATE INDEX items_parent ON items(parent_id);
