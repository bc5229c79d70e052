"""Options dataclasses parsed by the shared rule (connectors/options.py)."""

from __future__ import annotations

from dataloader_sdk.connectors.clickhouse.options import ClickHouseOptions
from dataloader_sdk.connectors.options import option_names, options_from
from dataloader_sdk.connectors.oracle.options import OracleOptions
from dataloader_sdk.connectors.sqlserver.options import SqlServerOptions
from dataloader_sdk.model import SourceConfig


def _config(**kw: object) -> SourceConfig:
    return SourceConfig(name="s", db_type="x", **kw)  # type: ignore[arg-type]


def test_fields_are_read_by_type_and_defaults_kept() -> None:
    opts = options_from(ClickHouseOptions, _config(host="h", options={
        "secure": True, "verify": False, "connect_timeout": 5}))
    assert opts == ClickHouseOptions(secure=True, verify=False, connect_timeout=5)
    assert options_from(ClickHouseOptions, _config(host="h")) == ClickHouseOptions()


def test_empty_text_is_the_default_and_given_values_win() -> None:
    config = _config(host="h", username="u", database="svc",
                     options={"sid": "", "tcp_connect_timeout": 3, "protocol": "tcps"})
    assert OracleOptions.parse(config) == OracleOptions(
        service_name="svc", sid=None, tcp_connect_timeout=3.0, protocol="tcps")
    assert options_from(OracleOptions, config, sid="X").sid == "X"


def test_option_names_are_the_fields_and_the_template_options() -> None:
    assert option_names(SqlServerOptions, "batch_rows") == (
        "driver", "encrypt", "trust_server_certificate", "read_path", "login_timeout",
        "max_text_size", "max_binary_size", "batch_rows")
    problems = SqlServerOptions.problems(_config(host="h", database="d", username="u",
                                                 options={"bogus": 1}))
    assert [p.field for p in problems] == ["options.bogus"]
