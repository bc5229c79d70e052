"""Reading a config file: YAML with line numbers, the JSON Schema, then the validators.

Every problem of the file is reported at once, each as ``line N: field.path: what is
wrong`` — YAML syntax, schema violations, and what the store's validators (a strategy's
options, inline credentials, a connector's fields) refuse. Messages never quote a value
from the file: a secret typed into the wrong field must not reach a log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataloader_sdk.control.config_diff import table_from_json
from dataloader_sdk.control.config_write import config_problems, source_config_problems
from dataloader_sdk.declarative.schema import config_schema
from dataloader_sdk.errors import ConfigError, FieldProblem, ValidationError
from dataloader_sdk.model import SourceConfig, TableConfig

if TYPE_CHECKING:
    from dataloader_sdk.plugins import PluginHost

__all__ = ["ConfigDocument", "ConfigFileError", "EnvironmentConfig", "load_config", "parse_config"]


class ConfigFileError(ValidationError):
    """A config file is malformed; ``problems`` carry ``line N: field.path``. Nothing was
    applied."""


@dataclass(frozen=True)
class EnvironmentConfig:
    """The sources and tables a file declares for one environment, validated."""

    sources: Mapping[str, SourceConfig] = field(default_factory=dict)
    tables: Mapping[str, TableConfig] = field(default_factory=dict)


@dataclass(frozen=True)
class ConfigDocument:
    """A parsed config file.

    Attributes:
        path: Where it was read from (for messages).
        environments: Per environment name; the key ``None`` when the file has top-level
            ``sources``/``tables`` (it then describes whichever environment it is applied to).
    """

    path: str
    environments: Mapping[str | None, EnvironmentConfig]

    def for_environment(self, environment: str) -> EnvironmentConfig:
        """The part of the file for ``environment``.

        Raises:
            ConfigError: The file lists environments, but not this one.
        """
        if None in self.environments:
            return self.environments[None]
        if environment not in self.environments:
            raise ConfigError(
                f"{self.path} declares environments {', '.join(map(str, self.environments))}"
                f" but not {environment}; add it or choose one with --env")
        return self.environments[environment]


def _plain(node: Any) -> Any:
    """ruamel's round-trip values as plain JSON values (dates as ISO text)."""
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, date):
        return node.isoformat()
    return str(node)


def _line(root: Any, path: Sequence[object]) -> int:
    """The 1-based line of the deepest part of ``path`` present in the YAML tree."""
    line, node = 0, root
    for key in path:
        lc = getattr(node, "lc", None)
        if isinstance(node, Mapping) and key in node and lc is not None:
            line, node = lc.key(key)[0], node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node) and lc:
            line, node = lc.item(key)[0], node[key]
        else:
            break
    return line + 1


def _problem(root: Any, path: Sequence[object], message: str) -> FieldProblem:
    dotted = ".".join(str(p) for p in path) or "(file)"
    return FieldProblem(f"line {_line(root, path)}: {dotted}", message)


def _schema_message(error: Any) -> str:
    """A jsonschema error in words, without quoting the offending value."""
    kind, expected = error.validator, error.validator_value
    if kind == "required":
        return error.message.replace("is a required property", "is required")  # type: ignore[no-any-return]
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown field(s) {', '.join(extra)}; allowed: {allowed}"
    if kind == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return f"must be {' or '.join('empty' if k == 'null' else k for k in kinds)}"
    if kind == "const":
        return f"must be {expected}"
    if kind == "enum":
        return f"must be one of {', '.join(map(str, expected))}"
    if kind == "pattern":
        return f"does not match the required form {expected}"
    if kind in ("minimum", "maximum", "minLength"):
        return f"violates {kind} {expected}"
    return f"fails the schema check {kind!r}"


def _split_field(text: str) -> list[str]:
    return [part.split("[", 1)[0] for part in text.split(".") if part]


def parse_config(
    text: str, *, path: str = "<config>", host: PluginHost | None = None
) -> ConfigDocument:
    """Parse and validate a config file's text (see :func:`load_config` for a path).

    Args:
        text: The YAML text.
        path: Its name, for messages.
        host: Plugin host whose strategies and connectors validate the entries (``None``:
            only the fields every config has are checked).

    Raises:
        ConfigFileError: Every problem, with line numbers and field paths.
    """
    from jsonschema import Draft202012Validator
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        root = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ConfigFileError(path, [FieldProblem(
            f"line {line}", f"not valid YAML: {exc.problem or exc.context}")]) from None
    except YAMLError as exc:
        raise ConfigFileError(path, [FieldProblem(
            "(file)", f"not valid YAML: {type(exc).__name__}")]) from None
    data = _plain(root)
    if not isinstance(data, dict):
        raise ConfigFileError(path, [FieldProblem(
            "line 1", "the file must be a mapping with version, sources and tables")])
    validator = Draft202012Validator(config_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    problems = [_problem(root, list(e.absolute_path), _schema_message(e)) for e in errors]
    if "environments" in data and ("sources" in data or "tables" in data):
        problems.append(_problem(root, ["environments"], "give either environments or "
                                 "top-level sources/tables, not both"))
    if problems:
        raise ConfigFileError(path, problems)
    sections: dict[str | None, tuple[list[object], dict[str, Any]]] = (
        {env: (["environments", env], body) for env, body in data["environments"].items()}
        if "environments" in data else {None: ([], data)})
    environments = {}
    for env, (prefix, body) in sections.items():
        environments[env] = _environment(root, prefix, body, host, problems)
    if problems:
        raise ConfigFileError(path, problems)
    return ConfigDocument(path, environments)


def _environment(
    root: Any, prefix: list[object], body: Mapping[str, Any], host: PluginHost | None,
    problems: list[FieldProblem],
) -> EnvironmentConfig:
    sources: dict[str, SourceConfig] = {}
    for name, entry in (body.get("sources") or {}).items():
        where = [*prefix, "sources", name]
        source = SourceConfig(name=name, **entry)
        problems.extend(_problem(root, [*where, *_split_field(p.field)], p.problem)
                        for p in source_config_problems(source, host))
        sources[name] = source
    tables: dict[str, TableConfig] = {}
    for name, entry in (body.get("tables") or {}).items():
        where = [*prefix, "tables", name]
        table = table_from_json(name, entry)
        problems.extend(_problem(root, [*where, *_split_field(p.field)], p.problem)
                        for p in config_problems(table, host))
        tables[name] = table
    return EnvironmentConfig(sources, tables)


def load_config(path: str | Path, *, host: PluginHost | None = None) -> ConfigDocument:
    """Read and validate the config file at ``path`` (see :func:`parse_config`).

    Raises:
        ConfigError: The file cannot be read.
        ConfigFileError: Every problem, with line numbers and field paths.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    return parse_config(text, path=str(path), host=host)
