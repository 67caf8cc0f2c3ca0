"""The connection settings: safe defaults, and values that cannot work refused."""

from __future__ import annotations

import pytest

from server.config import Config, check, load_config
from server.errors import ConfigError


def test_defaults():
    config = Config()
    assert not config.proxy_protocol  # circuit ids only when torrc exports them too
    assert (config.header_timeout_seconds, config.idle_timeout_seconds) == (40.0, 60.0)
    assert (config.reporter_max_connections, config.staff_max_connections) == (4096, 256)
    assert config.circuit_max_connections == 20
    check(config)


@pytest.mark.parametrize("name, value", [
    ("header_timeout_seconds", 0.0), ("header_timeout_seconds", -1.0), ("header_timeout_seconds", 3601.0),
    ("idle_timeout_seconds", 0.0), ("idle_timeout_seconds", float("nan")), ("idle_timeout_seconds", float("inf")),
    ("reporter_max_connections", 0), ("staff_max_connections", 0), ("circuit_max_connections", 0),
    ("reporter_max_connections", 1_000_001),
])
def test_values_that_cannot_work_are_refused(name, value):
    with pytest.raises(ConfigError, match=name):
        load_config(**{name: value})


def test_toml_types_are_checked(tmp_path):
    toml = tmp_path / "wbs.toml"
    toml.write_text('proxy_protocol = "yes"\n')
    with pytest.raises(ConfigError, match="proxy_protocol must be of type bool"):
        load_config(toml)
    toml.write_text("proxy_protocol = true\nheader_timeout_seconds = 5\n")
    config = load_config(toml)
    assert config.proxy_protocol and config.header_timeout_seconds == 5.0
