-- What a reply bundle must never bring back: the bundles already imported
-- (by the SHA-256 of their signed body) and the items the retention purge
-- deleted. Days only, like every other table.

CREATE TABLE imported_bundles (
    bundle_id TEXT PRIMARY KEY,            -- 64 hex
    day       TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE purged_items (
    item_id     TEXT PRIMARY KEY,          -- 32 hex
    report_code TEXT NOT NULL,             -- no foreign key: outlives its report
    day         TEXT NOT NULL
) WITHOUT ROWID;
