"""The ``snowflake``/``snowflake_pem`` connectors' options, checked and parsed once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dataloader_sdk.connectors.checks import (
    positive_ints,
    required_fields,
    string_options,
    unknown_options,
)
from dataloader_sdk.errors import FieldProblem
from dataloader_sdk.model import SourceConfig

__all__ = ["OPTIONS", "PEM_OPTIONS", "SnowflakeOptions"]

OPTIONS = ("account", "warehouse", "role", "schema", "protocol", "login_timeout",
           "network_timeout", "batch_rows")
PEM_OPTIONS = (*OPTIONS, "private_key_passphrase_secret")


@dataclass(frozen=True)
class SnowflakeOptions:
    """``options`` of a ``snowflake`` or ``snowflake_pem`` source (docs/connectors/snowflake.md)."""

    account: str
    warehouse: str | None = None
    role: str | None = None
    schema: str | None = None
    protocol: Literal["https", "http"] | None = None
    login_timeout: int = 60
    network_timeout: int = 300
    #: ``snowflake_pem``: the reference of the private key's passphrase.
    passphrase_ref: str | None = None

    @staticmethod
    def problems(config: SourceConfig) -> list[FieldProblem]:
        """Every problem of ``config`` (``snowflake_pem`` also: the key references)."""
        pem = config.db_type == "snowflake_pem"
        out = [*unknown_options(config, PEM_OPTIONS if pem else OPTIONS),
               *positive_ints(config, ("login_timeout", "network_timeout", "batch_rows"))]
        opts = config.options
        account = opts.get("account")
        if not isinstance(account, str) or not account:
            out.append(FieldProblem(
                "options.account",
                f"is required for db_type {config.db_type!r} (the account identifier, e.g. "
                "'myorg-myaccount' or 'xy12345.eu-west-1')"))
        out.extend(required_fields(config, ("database", "username"), config.db_type))
        out.extend(string_options(config, ("warehouse", "role", "schema")))
        if "protocol" in opts and opts["protocol"] not in ("https", "http"):
            out.append(FieldProblem("options.protocol", "must be 'https' or 'http'"))
        if pem:
            if not config.secret:
                out.append(FieldProblem(
                    "secret", "must reference the private key (e.g. 'file:/run/secrets/sf.p8')"))
            ref = opts.get("private_key_passphrase_secret")
            if ref is not None and (not isinstance(ref, str) or ":" not in ref):
                out.append(FieldProblem(
                    "options.private_key_passphrase_secret",
                    "must be a secret reference such as 'env:NAME', never the passphrase "
                    "itself"))
        return out

    @classmethod
    def parse(cls, config: SourceConfig) -> SnowflakeOptions:
        """The options of a config that passed :meth:`problems`."""
        opts = config.options

        def text(key: str) -> str | None:
            value = opts.get(key)
            return value if isinstance(value, str) else None

        protocol = text("protocol")
        return cls(
            account=str(opts.get("account", "")), warehouse=text("warehouse"),
            role=text("role"), schema=text("schema"),
            protocol="http" if protocol == "http" else "https" if protocol else None,
            login_timeout=int(opts.get("login_timeout", 60)),  # type: ignore[arg-type]
            network_timeout=int(opts.get("network_timeout", 300)),  # type: ignore[arg-type]
            passphrase_ref=text("private_key_passphrase_secret"),
        )
