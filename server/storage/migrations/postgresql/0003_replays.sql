-- What a reply bundle must never bring back: the bundles already imported
-- and the items the retention purge deleted
-- (server/storage/migrations/0003_replays.sql for SQLite). Days only.

CREATE TABLE imported_bundles (
    bundle_id TEXT PRIMARY KEY,            -- 64 hex
    day       TEXT NOT NULL
);

CREATE TABLE purged_items (
    item_id     TEXT PRIMARY KEY,          -- 32 hex
    report_code TEXT NOT NULL,             -- no foreign key: outlives its report
    day         TEXT NOT NULL
);
