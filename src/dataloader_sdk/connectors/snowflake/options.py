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
from dataloader_sdk.connectors.options import option_names, options_from
from dataloader_sdk.errors import FieldProblem
from dataloader_sdk.model import SourceConfig

__all__ = ["OPTIONS", "PEM_OPTIONS", "SnowflakeOptions"]

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
    #: ``snowflake_pem`` only: the reference of the private key's passphrase.
    private_key_passphrase_secret: str | None = None

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
        return options_from(cls, config, account=str(config.options.get("account", "")))


#: The option keys of a ``snowflake_pem`` source (the fields, then the template's), and
#: of a ``snowflake`` one, which takes no passphrase.
PEM_OPTIONS = option_names(SnowflakeOptions, "batch_rows")
OPTIONS = tuple(name for name in PEM_OPTIONS if name != "private_key_passphrase_secret")
