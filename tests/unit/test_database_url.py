"""``database_url`` (PostgreSQL, docs/storage.md) is refused by name until the
server runs on PostgreSQL, rather than half working."""

from __future__ import annotations

import pytest

from server.config import load_config
from server.errors import ConfigError


def test_a_database_url_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "wbs.toml"
    path.write_text('database_url = "postgresql://wbs@/wbs?host=/run/postgresql"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="database_url is not supported yet; remove it"):
        load_config(path)
