"""The store writes ``?`` placeholders once for both engines; PostgreSQL's are
numbered (server/storage/postgresql.py), and a ``?`` inside a quoted literal
is text, not a placeholder."""

from __future__ import annotations

from server.storage.postgresql import numbered


def test_placeholders_are_numbered_in_order():
    assert numbered("SELECT * FROM t WHERE a = ? AND b IN (?, ?)") == "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)"


def test_a_question_mark_inside_a_literal_stays():
    assert numbered("SELECT '?', 'it''s ?' FROM t WHERE a = ?") == "SELECT '?', 'it''s ?' FROM t WHERE a = $1"


def test_a_query_without_placeholders_is_unchanged():
    assert numbered("SELECT COUNT(*) FROM audit") == "SELECT COUNT(*) FROM audit"
