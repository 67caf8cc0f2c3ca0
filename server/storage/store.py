"""All queries of the server, written once for both engines (docs/storage.md):
SQLite (the default; ``engines.SqliteEngine``) and PostgreSQL (``postgresql``).

What is stored is only what the workflow needs: random ids, days,
statuses, envelope sizes (padded) and which reports share an account.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import AsyncContextManager, Iterable, Sequence

from server.errors import StoreError, TransferError
from server.storage.engines import Engine, Row, SqliteEngine, Table, Tx


@dataclass(frozen=True)
class Account:
    id: str
    lookup: bytes
    salt: bytes
    kdf_t: int
    kdf_m_kib: int
    kdf_p: int
    mailbox_pk: bytes
    created_day: str


@dataclass(frozen=True)
class Report:
    code: str
    account_id: str
    status: str
    created_day: str
    updated_day: str


@dataclass(frozen=True)
class Item:
    item_id: str
    report_code: str
    position: int
    kind: str
    author: str
    parent_id: str | None
    size: int
    sha256: str
    created_day: str
    exported: bool


@dataclass(frozen=True)
class NewItem:
    """An item whose envelope is already durable in the blob store."""

    item_id: str
    kind: str
    author: str
    parent_id: str | None
    size: int
    sha256: str


# The tables of sessions, by kind (never a name from outside).
_SESSION_TABLES = {"reporter": "reporter_sessions", "staff": "staff_sessions"}


def new_account_id() -> str:
    return secrets.token_hex(16)


class Store:
    """The database of one data folder."""

    def __init__(self, engine: Engine, zone: tzinfo = timezone.utc) -> None:
        self._engine = engine
        self.zone = zone

    def today(self, now: datetime | None = None) -> str:
        """The day every row written now carries, in the configured time zone:
        Klungkung's day, not UTC's (a report sent at 07:00 WITA is not yesterday's)."""
        return (now or datetime.now(timezone.utc)).astimezone(self.zone).date().isoformat()

    @classmethod
    async def open(cls, path: Path, zone: tzinfo = timezone.utc) -> "Store":
        """The SQLite database at ``path``, migrated."""
        return cls(await SqliteEngine.open(path), zone)

    async def close(self) -> None:
        await self._engine.close()

    @property
    def shared(self) -> bool:
        """Whether other nodes may use this database at the same time (PostgreSQL)."""
        return self._engine.shared

    async def reorder(self) -> list[str]:
        """Tables rewritten in key order, without deleted rows (PostgreSQL; SQLite keeps them so)."""
        return await self._engine.reorder()

    def exclusive(self, name: str) -> AsyncContextManager[bool]:
        """A deployment-wide lock for once-per-deployment jobs: True inside the block
        if this process got it, False (without waiting) if another holds it."""
        return self._engine.exclusive(name)

    def _transaction(self) -> AsyncContextManager[Tx]:
        return self._engine.transaction()

    async def _all(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        return await self._engine.fetch(sql, args)

    async def _one(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        rows = await self._all(sql, args)
        return rows[0] if rows else None

    # Accounts ---------------------------------------------------------------

    async def find_account(self, lookup: bytes) -> Account | None:
        row = await self._one("SELECT * FROM accounts WHERE lookup = ?", (lookup,))
        return Account(**dict(row)) if row else None

    async def account(self, account_id: str) -> Account | None:
        row = await self._one("SELECT * FROM accounts WHERE id = ?", (account_id,))
        return Account(**dict(row)) if row else None

    # Reports ----------------------------------------------------------------

    async def create_report(
        self,
        *,
        account: Account | None,
        account_id: str,
        code: str,
        status: str,
        day: str,
        items: Sequence[NewItem],
    ) -> None:
        """One transaction: the new account (first report only), the report, its items."""
        async with self._transaction() as db:
            if account is None:  # another report of an account: lock it, so its deletion waits or goes first
                await self._lock_account(db, account_id)
            else:
                await db.execute(
                    "INSERT INTO accounts (id, lookup, salt, kdf_t, kdf_m_kib, kdf_p, mailbox_pk, created_day)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (account.id, account.lookup, account.salt, account.kdf_t, account.kdf_m_kib,
                     account.kdf_p, account.mailbox_pk, account.created_day),
                )
            await db.execute(
                "INSERT INTO reports (code, account_id, status, created_day, updated_day) VALUES (?, ?, ?, ?, ?)",
                (code, account_id, status, day, day),
            )
            await db.execute(
                "INSERT INTO status_history (report_code, position, status, day) VALUES (?, 0, ?, ?)",
                (code, status, day),
            )
            await self._insert_items(db, code, day, items, start=0)

    async def add_items(self, code: str, day: str, items: Sequence[NewItem]) -> None:
        """Append items to a report's thread in one transaction."""
        async with self._transaction() as db:
            await self._append_items(db, code, day, items)

    @classmethod
    async def _append_items(cls, db: Tx, code: str, day: str, items: Sequence[NewItem]) -> None:
        # The report's row first: its lock makes writers of one report take turns, and the next
        # position is read after the previous writer committed (docs/storage.md, "Transactions").
        await db.execute("UPDATE reports SET updated_day = ? WHERE code = ?", (day, code))
        start = (await db.fetch("SELECT COALESCE(MAX(position) + 1, 0) FROM items WHERE report_code = ?", (code,)))[0][0]
        await cls._insert_items(db, code, day, items, start=start)

    @staticmethod
    async def _lock_report(db: Tx, code: str) -> None:
        """Hold the report's row until the transaction ends, changing nothing (a no-op update is the lock
        both engines understand: SQLite's ``BEGIN IMMEDIATE`` holds the whole database already)."""
        await db.execute("UPDATE reports SET updated_day = updated_day WHERE code = ?", (code,))

    @staticmethod
    async def _lock_account(db: Tx, account_id: str) -> None:
        await db.execute("UPDATE accounts SET created_day = created_day WHERE id = ?", (account_id,))

    @staticmethod
    async def _insert_items(
        db: Tx, code: str, day: str, items: Sequence[NewItem], *, start: int
    ) -> None:
        await db.executemany(
            "INSERT INTO items (item_id, report_code, position, kind, author, parent_id, size, sha256, created_day)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (i.item_id, code, start + n, i.kind, i.author, i.parent_id, i.size, i.sha256, day)
                for n, i in enumerate(items)
            ],
        )

    async def report(self, code: str) -> Report | None:
        row = await self._one("SELECT * FROM reports WHERE code = ?", (code,))
        return Report(**dict(row)) if row else None

    async def reports_of_account(self, account_id: str) -> list[Report]:
        rows = await self._all(
            "SELECT * FROM reports WHERE account_id = ? ORDER BY created_day DESC, code", (account_id,)
        )
        return [Report(**dict(r)) for r in rows]

    async def answers_of_account(self, account_id: str) -> dict[str, tuple[int, int]]:
        """Per report of the account: (answers so far, answers the reporter has seen).

        An answer is a reply or a status change after the first status.
        """
        rows = await self._all(
            "SELECT r.code,"
            " (SELECT COUNT(*) FROM items i WHERE i.report_code = r.code AND i.kind = 'reply')"
            " + (SELECT CASE WHEN COUNT(*) > 0 THEN COUNT(*) - 1 ELSE 0 END"
            " FROM status_history h WHERE h.report_code = r.code) AS answers,"
            " COALESCE((SELECT s.answers FROM seen s WHERE s.report_code = r.code), 0) AS seen"
            " FROM reports r WHERE r.account_id = ?",
            (account_id,),
        )
        return {r["code"]: (r["answers"], r["seen"]) for r in rows}

    async def mark_seen(self, code: str, answers: int) -> None:
        """Record that the reporter has seen ``answers`` answers of the report (a count, no time)."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO seen (report_code, answers) VALUES (?, ?)"
                " ON CONFLICT(report_code) DO UPDATE SET answers = excluded.answers",
                (code, max(answers, 0)),
            )

    async def status_history(self, code: str) -> list[tuple[str, str]]:
        rows = await self._all(
            "SELECT status, day FROM status_history WHERE report_code = ? ORDER BY position", (code,)
        )
        return [(r["status"], r["day"]) for r in rows]

    async def items_of_report(self, code: str) -> list[Item]:
        rows = await self._all("SELECT * FROM items WHERE report_code = ? ORDER BY position", (code,))
        return [Item(**{**dict(r), "exported": bool(r["exported"])}) for r in rows]

    async def item_ids(self) -> set[str]:
        return {r["item_id"] for r in await self._all("SELECT item_id FROM items")}

    async def counts(self) -> dict[str, int]:
        result = {}
        for table in ("accounts", "reports", "items"):
            row = await self._one(f"SELECT COUNT(*) AS n FROM {table}")
            result[table] = row["n"] if row else 0
        return result

    # Export -------------------------------------------------------------------

    async def report_codes(self, *, unexported_only: bool) -> list[str]:
        if unexported_only:
            sql = "SELECT DISTINCT report_code AS code FROM items WHERE exported = 0 ORDER BY report_code"
        else:
            sql = "SELECT code FROM reports ORDER BY code"
        return [r["code"] for r in await self._all(sql)]

    async def mark_exported(self, item_ids: Iterable[str], audit: Sequence[tuple[str, str, str | None, str]] = ()) -> None:
        """Mark items as carried by an export, with the export's audit line, in one transaction."""
        ids = sorted(item_ids)
        async with self._transaction() as db:
            # The items' reports first, in code order, as a purge (report, then its items) locks them:
            # otherwise an export and a purge of one case could each hold an item the other waits for.
            codes: set[str] = set()
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" for _ in chunk)
                codes.update(r[0] for r in await db.fetch(
                    f"SELECT DISTINCT report_code FROM items WHERE item_id IN ({marks})", chunk))
            for code in sorted(codes):
                await self._lock_report(db, code)
            await db.executemany("UPDATE items SET exported = 1 WHERE item_id = ?", [(i,) for i in ids])
            if audit:
                await self._insert_audit(db, audit[0][0], audit)

    # Cases, as staff see them (metadata only) ------------------------------------

    async def all_reports(self) -> list[Report]:
        rows = await self._all("SELECT * FROM reports ORDER BY created_day, code")
        return [Report(**dict(r)) for r in rows]

    async def all_status_history(self) -> dict[str, list[tuple[str, str]]]:
        result: dict[str, list[tuple[str, str]]] = {}
        for r in await self._all("SELECT report_code, status, day FROM status_history ORDER BY report_code, position"):
            result.setdefault(r["report_code"], []).append((r["status"], r["day"]))
        return result

    async def unexported_reporter_items(self) -> dict[str, int]:
        """Per report: how many items from the reporter no export has carried yet."""
        rows = await self._all(
            "SELECT report_code, COUNT(*) AS n FROM items WHERE exported = 0 AND author = 'reporter'"
            " AND kind IN ('report', 'message') GROUP BY report_code"
        )
        return {r["report_code"]: r["n"] for r in rows}

    async def first_reply_day(self) -> dict[str, str]:
        rows = await self._all("SELECT report_code, MIN(created_day) AS day FROM items WHERE kind = 'reply' GROUP BY report_code")
        return {r["report_code"]: r["day"] for r in rows}

    async def set_status(self, code: str, status: str, day: str) -> None:
        async with self._transaction() as db:
            await self._append_status(db, code, status, day)

    @staticmethod
    async def _append_status(db: Tx, code: str, status: str, day: str) -> None:
        # As in _append_items: the report's row (and its lock) before the next position is read.
        await db.execute("UPDATE reports SET status = ?, updated_day = ? WHERE code = ?", (status, day, code))
        position = (await db.fetch(
            "SELECT COALESCE(MAX(position) + 1, 0) FROM status_history WHERE report_code = ?", (code,)))[0][0]
        await db.execute(
            "INSERT INTO status_history (report_code, position, status, day) VALUES (?, ?, ?, ?)",
            (code, position, status, day),
        )

    async def item(self, item_id: str) -> Item | None:
        row = await self._one("SELECT * FROM items WHERE item_id = ?", (item_id,))
        return Item(**{**dict(row), "exported": bool(row["exported"])}) if row else None

    async def import_replies(
        self, day: str, replies: Sequence[tuple[str, NewItem, str | None]], audit: Sequence[tuple[str, str, str | None, str]],
        *, bundle_id: str,
    ) -> None:
        """One transaction: each (report code, reply item, new status or None), the audit lines, and
        the bundle's id remembered (a second import of the same bundle keeps the first day)."""
        async with self._transaction() as db:
            for code in sorted({code for code, _, _ in replies}):  # every report locked in one order: no deadlock
                await self._lock_report(db, code)
            for code, item, status in replies:
                await self._append_items(db, code, day, [item])
                if status is not None:
                    await self._append_status(db, code, status, day)
            await self._insert_audit(db, day, audit)
            await db.execute("INSERT INTO imported_bundles (bundle_id, day) VALUES (?, ?) ON CONFLICT DO NOTHING", (bundle_id, day))

    async def bundle_imported(self, bundle_id: str) -> str | None:
        """The day a reply bundle was first imported, or None."""
        row = await self._one("SELECT day FROM imported_bundles WHERE bundle_id = ?", (bundle_id,))
        return row["day"] if row else None

    async def purge_days(self, codes: Iterable[str]) -> dict[str, str]:
        """Of these reports, those whose items the retention purge deleted, with the last such day."""
        found: dict[str, str] = {}
        for code in set(codes):
            row = await self._one("SELECT MAX(day) AS day FROM purged_items WHERE report_code = ?", (code,))
            if row and row["day"]:
                found[code] = row["day"]
        return found

    async def purged_items(self, item_ids: Iterable[str]) -> dict[str, str]:
        """Of these item ids, those the retention purge deleted, with the day."""
        ids = list(item_ids)
        found: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" for _ in chunk)
            for r in await self._all(f"SELECT item_id, day FROM purged_items WHERE item_id IN ({marks})", chunk):
                found[r["item_id"]] = r["day"]
        return found

    # Staff ----------------------------------------------------------------------

    async def add_staff(self, member: "StaffMember", audit: Sequence[tuple[str, str, str | None, str]] = ()) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO staff (id, username, role, password_hash, totp_secret, totp_last_step, must_change,"
                " disabled, created_day) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (member.id, member.username, member.role, member.password_hash, member.totp_secret,
                 member.totp_last_step, int(member.must_change), int(member.disabled), member.created_day),
            )
            await self._insert_audit(db, member.created_day, audit)

    async def staff_by_name(self, username: str) -> "StaffMember | None":
        row = await self._one("SELECT * FROM staff WHERE username = ?", (username,))
        return StaffMember.from_row(row) if row else None

    async def staff_by_id(self, staff_id: str) -> "StaffMember | None":
        row = await self._one("SELECT * FROM staff WHERE id = ?", (staff_id,))
        return StaffMember.from_row(row) if row else None

    async def all_staff(self) -> list["StaffMember"]:
        return [StaffMember.from_row(r) for r in await self._all("SELECT * FROM staff ORDER BY username")]

    async def update_staff(self, staff_id: str, audit: Sequence[tuple[str, str, str | None, str]] = (), **changes: object) -> None:
        allowed = {"password_hash", "totp_secret", "totp_last_step", "must_change", "disabled", "role"}
        if not changes or set(changes) - allowed:
            raise ValueError("unknown staff fields")
        columns = ", ".join(f"{name} = ?" for name in changes)
        values = [int(v) if isinstance(v, bool) else v for v in changes.values()]
        async with self._transaction() as db:
            await db.execute(f"UPDATE staff SET {columns} WHERE id = ?", (*values, staff_id))
            if audit:
                await self._insert_audit(db, audit[0][0], audit)

    async def use_totp_step(self, staff_id: str, step: int) -> bool:
        """Record a TOTP time step as used; False if it (or a later one) was used before."""
        async with self._transaction() as db:
            changed = await db.execute(
                "UPDATE staff SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?", (step, staff_id, step)
            )
            return changed == 1

    # Audit ----------------------------------------------------------------------

    @staticmethod
    async def _insert_audit(db: Tx, day: str, lines: Sequence[tuple[str, str, str | None, str]]) -> None:
        """Lines are (day, actor, report_code or None, action[: detail])."""
        await db.executemany(
            "INSERT INTO audit (day, actor, action, report_code, detail) VALUES (?, ?, ?, ?, ?)",
            [(d, actor, action.split(":", 1)[0], code, action.split(":", 1)[1] if ":" in action else "")
             for d, actor, code, action in lines],
        )

    async def audit(self, *lines: tuple[str, str, str | None, str]) -> None:
        async with self._transaction() as db:
            await self._insert_audit(db, lines[0][0] if lines else "", lines)

    async def audit_page(self, *, limit: int, before: int | None = None) -> tuple[list[Row], int | None]:
        """Up to ``limit`` audit rows, newest first, older than row ``before``; and the
        ``before`` of the next older page, or None when these reach the first row."""
        rows = await self._all(
            "SELECT seq, day, actor, action, report_code, detail FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT ?",
            (before if before is not None else 2**63 - 1, limit + 1),
        )
        return rows[:limit], rows[limit - 1]["seq"] if len(rows) > limit else None

    async def status_change_with_audit(self, code: str, status: str, day: str, actor: str) -> None:
        async with self._transaction() as db:
            await self._append_status(db, code, status, day)
            await self._insert_audit(db, day, [(day, actor, code, f"status:{status}")])

    async def add_items_with_audit(self, code: str, day: str, items: Sequence[NewItem], actor: str, action: str) -> None:
        async with self._transaction() as db:
            await self._append_items(db, code, day, items)
            await self._insert_audit(db, day, [(day, actor, code, action)])

    # Alerts (the daily digest; server/operations/alerts.py) ---------------------------------

    async def alert_state(self) -> "AlertState":
        row = await self._one("SELECT sent_day, covered_from, failed_day, failures, reason FROM alert_state")
        return AlertState(**dict(row)) if row else AlertState()

    async def record_alert_sent(self, day: str, covered_from: str) -> None:
        """The digest of ``day`` went out, counting ``covered_from`` through the day before; failures end."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO alert_state (id, sent_day, covered_from, failed_day, failures, reason)"
                " VALUES (1, ?, ?, NULL, 0, '') ON CONFLICT(id) DO UPDATE SET sent_day = excluded.sent_day,"
                " covered_from = excluded.covered_from, failed_day = NULL, failures = 0, reason = ''",
                (day, covered_from),
            )

    async def record_alert_failure(self, day: str, reason: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO alert_state (id, failed_day, failures, reason) VALUES (1, ?, 1, ?)"
                " ON CONFLICT(id) DO UPDATE SET failed_day = excluded.failed_day, failures = alert_state.failures + 1,"
                " reason = excluded.reason",
                (day, reason),
            )

    async def digest_counts(self, first_day: str, last_day: str) -> tuple[int, int]:
        """Reports made, and messages reporters added to their reports, from ``first_day``
        through ``last_day`` (both included; days as stored)."""
        reports = await self._one(
            "SELECT COUNT(*) AS n FROM reports WHERE created_day BETWEEN ? AND ?", (first_day, last_day))
        messages = await self._one(
            "SELECT COUNT(*) AS n FROM items WHERE kind = 'message' AND author = 'reporter'"
            " AND created_day BETWEEN ? AND ?", (first_day, last_day))
        return (reports["n"] if reports else 0), (messages["n"] if messages else 0)

    # Live state shared by the nodes: sessions and login throttles -----------------------
    # Used when the database is shared (PostgreSQL; SQLite keeps these in memory).
    # Each is one statement committed on its own (``Engine.statement``): atomic by
    # itself, so two nodes writing the same row never fail each other. Times are
    # whole minutes since the Unix epoch; every row is deleted when it expires
    # (``sweep_live_state``). docs/threat-model.md says what the rows show.

    async def _live(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        return await self._engine.statement(sql, args)

    async def add_reporter_session(self, row_id: bytes, sealed: bytes, idle_until: int, end_by: int,
                                   *, cap: int) -> None:
        """A new reporter session; past ``cap`` sessions, the least recently used end first."""
        row = await self._one("SELECT COUNT(*) AS n FROM reporter_sessions")
        excess = (row["n"] if row else 0) - cap + 1
        if excess > 0:
            await self._live("DELETE FROM reporter_sessions WHERE id IN"
                             " (SELECT id FROM reporter_sessions ORDER BY idle_until, end_by, id LIMIT ?)", (excess,))
        await self._live("INSERT INTO reporter_sessions (id, sealed, idle_until, end_by) VALUES (?, ?, ?, ?)",
                         (row_id, sealed, idle_until, end_by))

    async def add_staff_session(self, row_id: bytes, staff_id: str, idle_until: int, end_by: int) -> None:
        await self._live("INSERT INTO staff_sessions (id, staff_id, idle_until, end_by) VALUES (?, ?, ?, ?)",
                         (row_id, staff_id, idle_until, end_by))

    async def reporter_session(self, row_id: bytes) -> tuple[bytes, int, int] | None:
        """(sealed, idle_until, end_by) of a reporter session, expired or not."""
        row = await self._one("SELECT sealed, idle_until, end_by FROM reporter_sessions WHERE id = ?", (row_id,))
        return (bytes(row["sealed"]), row["idle_until"], row["end_by"]) if row else None

    async def staff_session(self, row_id: bytes) -> tuple[str, int, int] | None:
        """(staff_id, idle_until, end_by) of a staff session, expired or not."""
        row = await self._one("SELECT staff_id, idle_until, end_by FROM staff_sessions WHERE id = ?", (row_id,))
        return (row["staff_id"], row["idle_until"], row["end_by"]) if row else None

    async def touch_session(self, kind: str, row_id: bytes, idle_until: int) -> None:
        """Move a session's idle limit later (never earlier: another node may have moved it further)."""
        await self._live(f"UPDATE {_SESSION_TABLES[kind]} SET idle_until = ? WHERE id = ? AND idle_until < ?",
                         (idle_until, row_id, idle_until))

    async def end_session(self, kind: str, row_id: bytes) -> None:
        await self._live(f"DELETE FROM {_SESSION_TABLES[kind]} WHERE id = ?", (row_id,))

    async def end_staff_sessions(self, staff_id: str, *, keep: bytes | None = None) -> None:
        """End every session of a staff member, on every node, except the one ``keep`` names."""
        await self._live("DELETE FROM staff_sessions WHERE staff_id = ? AND id <> ?", (staff_id, keep or b""))

    async def login_wait(self, row_id: bytes) -> int:
        """The minute before which this account may not try again (0: it may now)."""
        row = await self._one("SELECT wait_until FROM login_failures WHERE id = ?", (row_id,))
        return row["wait_until"] if row else 0

    async def count_login_failure(self, row_id: bytes, forget_after: int) -> int:
        """One more failed login for this account; its failures so far."""
        rows = await self._live(
            "INSERT INTO login_failures (id, failures, wait_until, forget_after) VALUES (?, 1, 0, ?)"
            " ON CONFLICT(id) DO UPDATE SET failures = login_failures.failures + 1,"
            " forget_after = CASE WHEN login_failures.forget_after > excluded.forget_after"
            " THEN login_failures.forget_after ELSE excluded.forget_after END RETURNING failures",
            (row_id, forget_after))
        return rows[0]["failures"]

    async def hold_login(self, row_id: bytes, wait_until: int) -> None:
        """No attempt for this account before ``wait_until`` (a later hold already set stays)."""
        await self._live(
            "UPDATE login_failures SET wait_until = ?, forget_after = CASE WHEN forget_after > ?"
            " THEN forget_after ELSE ? END WHERE id = ? AND wait_until < ?",
            (wait_until, wait_until, wait_until, row_id, wait_until))

    async def forget_login_failures(self, row_id: bytes) -> None:
        await self._live("DELETE FROM login_failures WHERE id = ?", (row_id,))

    async def count_rate_event(self, scope: str, minute: int, delta: int = 1) -> tuple[int, int]:
        """Add ``delta`` (+1, or -1 to give one back, never below 0) to this minute's events of
        ``scope``; returns (this minute's events, the previous minute's)."""
        rows = await self._live(
            "INSERT INTO rate_windows (scope, epoch_minute, events) VALUES (?, ?, ?)"
            " ON CONFLICT(scope, epoch_minute) DO UPDATE SET events = CASE"
            " WHEN rate_windows.events + ? < 0 THEN 0 ELSE rate_windows.events + ? END RETURNING events",
            (scope, minute, max(delta, 0), delta, delta))
        return rows[0]["events"], await self.rate_events(scope, minute - 1)

    async def rate_events(self, scope: str, minute: int) -> int:
        row = await self._one("SELECT events FROM rate_windows WHERE scope = ? AND epoch_minute = ?", (scope, minute))
        return row["events"] if row else 0

    async def sweep_live_state(self, minute: int) -> None:
        """Delete what has expired at ``minute``: sessions past a limit, failure counts
        past their day, holds that have passed (their minute is kept no longer than
        needed), and rate windows older than the previous minute. Any node may run it."""
        for table in _SESSION_TABLES.values():
            await self._live(f"DELETE FROM {table} WHERE idle_until <= ? OR end_by <= ?", (minute, minute))
        await self._live("DELETE FROM login_failures WHERE forget_after <= ?", (minute,))
        await self._live("UPDATE login_failures SET wait_until = 0 WHERE wait_until > 0 AND wait_until <= ?", (minute,))
        await self._live("DELETE FROM rate_windows WHERE epoch_minute < ?", (minute - 1,))


@dataclass(frozen=True)
class StaffMember:
    id: str
    username: str
    role: str
    password_hash: str
    totp_secret: str
    totp_last_step: int
    must_change: bool
    disabled: bool
    created_day: str

    @classmethod
    def from_row(cls, row: Row) -> "StaffMember":
        data = dict(row)
        data["must_change"] = bool(data["must_change"])
        data["disabled"] = bool(data["disabled"])
        return cls(**data)


@dataclass(frozen=True)
class AlertState:
    sent_day: str | None = None
    covered_from: str | None = None
    failed_day: str | None = None
    failures: int = 0
    reason: str = ""


def read_alert_state(path: Path) -> AlertState | None:
    """The digest's state, read-only and blocking (for ``wbs check``); None when the
    database has no such table yet (made before migration 5, or not made at all)."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT sent_day, covered_from, failed_day, failures, reason FROM alert_state").fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        db.close()
    return AlertState(**dict(row)) if row else AlertState()


class Retention:
    """Deletions: cases past their retention period, and accounts their reporter deletes.

    Rows go in one transaction with their audit lines; the caller removes the
    blobs after it commits (a crash in between leaves only orphans, which the
    start-up sweep removes).
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    async def expired_reports(self, final_statuses: Sequence[str], before_day: str) -> list[str]:
        """Reports in a final status whose last change is on or before ``before_day``, still holding items."""
        marks = ",".join("?" for _ in final_statuses)
        rows = await self._store._all(
            f"SELECT r.code FROM reports r WHERE r.status IN ({marks}) AND r.updated_day <= ?"
            " AND EXISTS (SELECT 1 FROM items i WHERE i.report_code = r.code) ORDER BY r.code",
            (*final_statuses, before_day),
        )
        return [r["code"] for r in rows]

    async def purge_items(self, code: str, day: str, actor: str) -> list[str]:
        """Delete a case's items (its status history stays) and remember their ids, so no
        reply bundle brings one back; returns the ids (none, and no audit line, if it has none left)."""
        async with self._store._transaction() as db:
            await Store._lock_report(db, code)  # no item added between the listing and the deletion
            ids = [r[0] for r in await db.fetch("SELECT item_id FROM items WHERE report_code = ?", (code,))]
            if not ids:  # purged since it was found expired (by 'wbs purge' beside the server)
                return []
            await db.executemany("INSERT INTO purged_items (item_id, report_code, day) VALUES (?, ?, ?)"
                                 " ON CONFLICT DO NOTHING",
                                 [(i, code, day) for i in ids])
            await db.execute("DELETE FROM items WHERE report_code = ?", (code,))
            await Store._insert_audit(db, day, [(day, actor, code, f"purge:{len(ids)} item(s)")])
        return ids

    async def delete_account(self, account_id: str, day: str) -> list[str]:
        """Delete an account, its reports and their items; returns the item ids."""
        async with self._store._transaction() as db:
            # The account, then its reports in code order (as every writer locks them), then the listing:
            # no report or item is added between the listing and the deletion.
            await Store._lock_account(db, account_id)
            codes = [r[0] for r in await db.fetch(
                "SELECT code FROM reports WHERE account_id = ? ORDER BY code", (account_id,))]
            for code in codes:
                await Store._lock_report(db, code)
            ids = [r[0] for r in await db.fetch(
                "SELECT i.item_id FROM items i JOIN reports r ON r.code = i.report_code WHERE r.account_id = ?",
                (account_id,),
            )]
            await db.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
            await Store._insert_audit(db, day, [(day, "reporter", code, "deleted_by_reporter") for code in codes])
        return ids


# Moving a store (docs/storage.md, "Moving a store"): every table of one store copied into
# another, empty one of the same schema on either engine, and the copy compared row by row.
# wbs migrate-store (SQLite -> PostgreSQL) and wbs backup of a PostgreSQL store
# (PostgreSQL -> a SQLite file, the backup's format) both go through it.


# Live state (sessions, login throttles: rows of minutes, deleted as they expire) is not
# copied: a backup kept for years must not keep it, and a moved store starts without it
# (everyone logs in again). Only a shared database holds any; SQLite's tables stay empty.
LIVE_STATE_TABLES = frozenset({*_SESSION_TABLES.values(), "login_failures", "rate_windows"})


def dependency_order(tables: Iterable[Table]) -> list[Table]:
    """Tables after those their foreign keys point to; otherwise by name."""
    pending = {t.name: t for t in tables}
    ordered: list[Table] = []
    while pending:
        ready = sorted(n for n, t in pending.items() if not (t.parents & pending.keys()))
        if not ready:
            raise TransferError(f"the tables {', '.join(sorted(pending))} refer to each other in a cycle")
        ordered += [pending.pop(n) for n in ready]
    return ordered


def _parents_first(table: Table, rows: list[tuple]) -> list[tuple]:
    """Rows of a table that refers to itself (an attachment to its item), referred-to rows first."""
    if not table.self_refs:
        return rows
    at = {name: i for i, name in enumerate(table.columns)}
    present: dict[str, set] = {ref: set() for _, ref in table.self_refs}
    ordered, pending = [], rows
    while pending:
        ready = [r for r in pending
                 if all(r[at[col]] is None or r[at[col]] in present[ref] for col, ref in table.self_refs)]
        if not ready:
            raise TransferError(f"{len(pending)} row(s) of {table.name} refer to rows of it that do not exist")
        for row in ready:
            for ref in present:
                present[ref].add(row[at[ref]])
        ordered += ready
        done = set(ready)
        pending = [r for r in pending if r not in done]
    return ordered


def _sort_key(row: tuple) -> tuple:
    return tuple((0, "", b"") if v is None else (1, type(v).__name__, v) for v in row)


async def _rows(db: Tx, table: Table) -> list[tuple]:
    columns = ", ".join(f'"{c}"' for c in table.columns)
    return sorted((tuple(r) for r in await db.fetch(f'SELECT {columns} FROM "{table.name}"')), key=_sort_key)


class Transfer:
    """Copy every table of ``source`` into ``target`` (new and empty, same schema, either engine),
    then check the copy row by row. Each table is read whole: a store's metadata, not its blobs."""

    def __init__(self, source: Store, target: Store) -> None:
        self._source = source._engine
        self._target = target._engine

    async def tables(self) -> list[Table]:
        """The tables to copy (live state left out), in dependency order; refused if the two
        schemas differ."""
        versions = await self._source.schema_version(), await self._target.schema_version()
        if versions[0] != versions[1]:
            raise TransferError(f"the two stores are at different schema versions ({versions[0]} and"
                                f" {versions[1]}): run the same version of wbs on both")
        source = {t.name: t for t in await self._source.tables()}
        target = {t.name: t for t in await self._target.tables()}
        differ = sorted(n for n in source.keys() | target.keys()
                        if n not in source or n not in target or source[n].columns != target[n].columns)
        if differ:
            raise TransferError(f"the two schemas differ in the tables {', '.join(differ)}")
        return dependency_order(t for t in source.values() if t.name not in LIVE_STATE_TABLES)

    async def require_empty_target(self, tables: Sequence[Table]) -> None:
        counts = {t.name: (await self._target.fetch(f'SELECT COUNT(*) FROM "{t.name}"'))[0][0] for t in tables}
        filled = {name: n for name, n in counts.items() if n}
        if filled:
            listed = ", ".join(f"{name} ({n} row(s))" for name, n in sorted(filled.items()))
            raise TransferError(f"the target database is not empty: {listed}. A store moves only into a new,"
                                " empty database; nothing was copied")

    async def copy(self, tables: Sequence[Table], *, check: bool = False) -> dict[str, int]:
        """Copy ``tables`` from one moment of the source, in one transaction of the target (all or
        nothing); rows per table. ``check``: compare the copy with that same moment before returning."""
        counts: dict[str, int] = {}
        async with self._source.snapshot() as source:
            async with self._target.transaction() as target:
                for table in tables:
                    rows = _parents_first(table, await _rows(source, table))
                    columns = ", ".join(f'"{c}"' for c in table.columns)
                    marks = ", ".join("?" for _ in table.columns)
                    try:
                        await target.executemany(f'INSERT INTO "{table.name}" ({columns})'
                                                 f" {self._target.keep_ids} VALUES ({marks})", rows)
                        await self._target.after_copy(target, table)
                    except TransferError:
                        raise
                    except Exception as exc:  # the driver's error, whichever engine: say which table
                        raise TransferError(f"copying {table.name} failed ({type(exc).__name__}: {exc});"
                                            " nothing was copied") from None
                    counts[table.name] = len(rows)
            if check:
                async with self._target.snapshot() as target:
                    await self._compare(source, target, tables)
        return counts

    async def verify(self, tables: Sequence[Table]) -> dict[str, int]:
        """Every row of every table equal on both sides, read now (a source written to since the copy
        fails here); rows per table."""
        async with self._source.snapshot() as source, self._target.snapshot() as target:
            return await self._compare(source, target, tables)

    @staticmethod
    async def _compare(source: Tx, target: Tx, tables: Sequence[Table]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for table in tables:
            theirs, ours = await _rows(source, table), await _rows(target, table)
            if theirs != ours:
                left, right = set(theirs), set(ours)
                missing, extra = len(left - right), len(right - left)
                raise TransferError(f"{table.name} differs: {missing} row(s) of the source are not in the copy"
                                    f" as they are, and {extra} row(s) of the copy are not in the source")
            counts[table.name] = len(ours)
        return counts

    async def items(self) -> list[tuple[str, int, str]]:
        """Every item's id, size and sha256, as the copy's rows say."""
        rows = await self._target.fetch("SELECT item_id, size, sha256 FROM items ORDER BY item_id")
        return [(r[0], r[1], r[2]) for r in rows]


def snapshot_database(source: Path, target: Path) -> set[str]:
    """A consistent copy through SQLite's online backup API; returns the item ids it holds.

    Blocking: for ``wbs backup``, which may run while the server writes.
    """
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        return {row[0] for row in dst.execute("SELECT item_id FROM items")}
    finally:
        dst.close()
        src.close()


async def snapshot_into_sqlite(source: Store, target: Path) -> set[str]:
    """``wbs backup`` of a store on PostgreSQL: one moment of it (REPEATABLE READ) copied into a new
    SQLite file of the same schema, checked against that moment; returns the item ids it holds.
    The file is what ``snapshot_database`` writes for a SQLite store, so restores do not change."""
    copy = await Store.open(target, source.zone)
    try:
        transfer = Transfer(source, copy)
        tables = await transfer.tables()
        await transfer.require_empty_target(tables)
        await transfer.copy(tables, check=True)
        ids = {item_id for item_id, _, _ in await transfer.items()}
    finally:
        await copy.close()
    await asyncio.to_thread(_single_file, target)
    return ids


def _single_file(path: Path) -> None:
    """Blocking: the database as one file, its WAL folded in and none left beside it."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=DELETE")
    finally:
        db.close()


def database_item_ids(path: Path) -> set[str]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {row[0] for row in db.execute("SELECT item_id FROM items")}
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a usable WBS database: {exc}") from None
    finally:
        db.close()
