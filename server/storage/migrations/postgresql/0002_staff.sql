-- Staff accounts and the audit log of every staff action
-- (server/storage/migrations/0002_staff.sql for SQLite).

CREATE TABLE staff (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'handler')),
    password_hash  TEXT NOT NULL,
    totp_secret    TEXT NOT NULL,
    totp_last_step BIGINT NOT NULL DEFAULT 0,  -- a TOTP code is accepted once
    must_change    BIGINT NOT NULL DEFAULT 1,  -- password change forced at next login
    disabled       BIGINT NOT NULL DEFAULT 0,
    created_day    TEXT NOT NULL
);

-- Append-only: who did what, to which report, on which day. Never content.
CREATE TABLE audit (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day         TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    report_code TEXT,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_append_only_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
