-- Reporter-side tables, as server/storage/migrations/0001_initial.sql holds them
-- for SQLite (docs/storage.md: the type mapping). Keyed by random values.

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,          -- 32 random hex
    lookup      BYTEA NOT NULL UNIQUE,     -- BLAKE2b-256(codename, key=instance secret)
    salt        BYTEA NOT NULL,
    kdf_t       BIGINT NOT NULL,
    kdf_m_kib   BIGINT NOT NULL,
    kdf_p       BIGINT NOT NULL,
    mailbox_pk  BYTEA NOT NULL,
    created_day TEXT NOT NULL
);

CREATE TABLE reports (
    code        TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    created_day TEXT NOT NULL,
    updated_day TEXT NOT NULL
);
CREATE INDEX reports_account ON reports(account_id);

CREATE TABLE status_history (
    report_code TEXT NOT NULL REFERENCES reports(code) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    status      TEXT NOT NULL,
    day         TEXT NOT NULL,
    PRIMARY KEY (report_code, position)
);

CREATE TABLE items (
    item_id     TEXT PRIMARY KEY,          -- 32 random hex
    report_code TEXT NOT NULL REFERENCES reports(code) ON DELETE CASCADE,
    position    BIGINT NOT NULL,           -- order within the report's thread
    kind        TEXT NOT NULL CHECK (kind IN ('report', 'message', 'reply', 'attachment')),
    author      TEXT NOT NULL CHECK (author IN ('reporter', 'staff', 'keyholder')),
    parent_id   TEXT REFERENCES items(item_id) ON DELETE CASCADE,
    size        BIGINT NOT NULL,           -- of the envelope, which is padded
    sha256      TEXT NOT NULL,             -- of the envelope
    created_day TEXT NOT NULL,
    exported    BIGINT NOT NULL DEFAULT 0,
    UNIQUE (report_code, position)
);
CREATE INDEX items_parent ON items(parent_id);
