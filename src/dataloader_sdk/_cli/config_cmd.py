"""``dataloader config``: sources and tables as a YAML file (export, plan, apply, schema)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dataloader_sdk._cli.common import CliState, actor, console, pass_state
from dataloader_sdk._cli.output import emit_json, json_option

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore
    from dataloader_sdk.declarative import ConfigPlan, EnvironmentConfig

__all__ = ["config"]


@click.group()
def config() -> None:
    """Keep sources and tables in a YAML file: export, plan, apply (needs the config extra).

    \b
    Examples:
      dataloader config export > dataloader.yaml
      dataloader config plan dataloader.yaml
      dataloader config apply dataloader.yaml --yes
      dataloader config schema > dataloader.schema.json
    """


@config.command("export")
@click.option("--single-file", is_flag=True,
              help="Both environments in one file (under `environments:`).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write one file per environment, DIR/<environment>.yaml, instead of "
              "printing --env's.")
@pass_state
def export(state: CliState, single_file: bool, out_dir: Path | None) -> None:
    """Print --env's sources and tables as YAML (secrets as references only).

    \b
    Examples:
      dataloader --env dataloader_test config export > test.yaml
      dataloader config export --single-file > all.yaml
      dataloader config export --out config/
    """
    from dataloader_sdk.declarative import export_config

    if single_file and out_dir is not None:
        raise click.UsageError("give --single-file or --out, not both")
    settings = state.settings()
    if not single_file and out_dir is None:
        click.echo(export_config({settings.environment: state.store()}), nl=False)
        return
    stores = {}
    try:
        for environment in ("dataloader", "dataloader_test"):
            stores[environment] = dataclasses.replace(
                settings, environment=environment).open_store()
        if single_file:
            click.echo(export_config(stores, single_file=True), nl=False)
            return
        assert out_dir is not None
        out_dir.mkdir(parents=True, exist_ok=True)
        for environment, store in stores.items():
            path = out_dir / f"{environment}.yaml"
            path.write_text(export_config({environment: store}), encoding="utf-8")
            console(stderr=True).print(f"Wrote {path}")
    finally:
        for store in stores.values():
            store.close()


def _print_plan(plan: ConfigPlan) -> None:
    out = console()
    verbs = {"added": "+ create", "changed": "~ change", "removed": "- remove"}
    for kind, diffs in (("source", plan.sources), ("table", plan.tables)):
        for diff in diffs:
            if diff.kind == "unchanged":
                continue
            out.print(f"{verbs[diff.kind]} {kind} {diff.name}")
            if diff.kind == "changed":
                for change in diff.changes:
                    out.print(f"    {change.field}: {json.dumps(change.before)} → "
                              f"{json.dumps(change.after)}")
            for flag in getattr(diff, "flags", ()):
                out.print(f"    ! {flag.message}")
    counts = plan.counts()
    out.print(f"Plan for {plan.environment}: {counts['create']} to create, "
              f"{counts['change']} to change, {counts['remove']} to remove"
              + ("" if plan.prune else " (without --prune nothing is removed)") + ".")


def _load(state: CliState, file: Path) -> tuple[ControlStore, EnvironmentConfig]:
    from dataloader_sdk.declarative import load_config

    document = load_config(file, host=state.host())
    store = state.store()
    return store, document.for_environment(store.environment)


@config.command("plan")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--prune", is_flag=True, help="Also plan removing what FILE does not list.")
@json_option()
@pass_state
def plan(state: CliState, file: Path, prune: bool, as_json: bool) -> None:
    """Show what applying FILE to --env would create, change or remove, with risk flags.

    \b
    Examples:
      dataloader config plan dataloader.yaml
      dataloader --env dataloader_test config plan test.yaml --prune --json
    """
    from dataloader_sdk.declarative import plan_config

    store, wanted = _load(state, file)
    result = plan_config(store, wanted, prune=prune)
    if as_json:
        emit_json(result.to_json())
    else:
        _print_plan(result)


@config.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Apply without asking.")
@click.option("--prune", is_flag=True, help="Also remove what FILE does not list.")
@json_option()
@pass_state
def apply(state: CliState, file: Path, yes: bool, prune: bool, as_json: bool) -> None:
    """Apply FILE to --env in one transaction (audited as `apply`).

    Applying the same file again changes nothing. If --env changes between the plan shown
    and the apply, nothing is applied.

    \b
    Examples:
      dataloader config apply dataloader.yaml
      dataloader config apply dataloader.yaml --yes --prune --json
    """
    from dataloader_sdk.declarative import apply_config, plan_config

    store, wanted = _load(state, file)
    shown = plan_config(store, wanted, prune=prune)
    if not shown.has_changes:
        if as_json:
            emit_json({**shown.to_json(), "change_set": None, "applied": False})
        else:
            console().print(f"Nothing to change: {shown.environment} matches {file}.")
        return
    if not as_json:
        _print_plan(shown)
    if not yes:
        click.confirm(f"Apply this plan to {shown.environment}?", abort=True, err=True)
    result = apply_config(store, wanted, actor=actor(), prune=prune, expected=shown)
    if as_json:
        emit_json({**result.plan.to_json(), "change_set": result.change_set, "applied": True})
    else:
        console().print(f"Applied (audit change set {result.change_set}).")


@config.command("schema")
def schema() -> None:
    """Print the JSON Schema of the config file (for editors and CI checks).

    \b
    Example:
      dataloader config schema > dataloader.schema.json
    """
    from dataloader_sdk.declarative import config_schema

    click.echo(json.dumps(config_schema(), indent=2))
