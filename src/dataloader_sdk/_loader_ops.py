"""The control-plane half of the :class:`~dataloader_sdk.DataLoader` facade: bulk edits
and config as code, each also checked by the tables' strategies.

A mixin so ``loader.py`` keeps to loading; ``DataLoader`` inherits these methods and the
public API is unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from dataloader_sdk.errors import ConfigError, FieldProblem, ValidationError

if TYPE_CHECKING:
    from pathlib import Path

    from dataloader_sdk.control.store import ControlStore
    from dataloader_sdk.declarative import ConfigApplyResult, ConfigPlan
    from dataloader_sdk.model import TableConfig
    from dataloader_sdk.model.operations import (
        BulkEditPlan,
        BulkEditResult,
        TableChanges,
        TableSelection,
    )
    from dataloader_sdk.plugins import PluginHost

__all__ = ["ControlPlaneOps"]


class ControlPlaneOps:
    """Bulk edits and config as code over ``self.store``, validated with ``self.host``."""

    store: ControlStore
    host: PluginHost

    def bulk_update(
        self, selection: TableSelection, changes: TableChanges, *, actor: str,
        dry_run: bool = False, action: Literal["bulk", "update"] = "bulk",
    ) -> BulkEditResult:
        """Edit many tables at once, all or nothing (``ControlStore.bulk_update``), every
        resulting config also checked by its strategy, as :meth:`update_table` does."""
        return self.store.bulk_update(selection, changes, actor=actor, dry_run=dry_run,
                                      action=action, validate=self.strategy_problems)

    def apply_bulk_plan(self, plan: BulkEditPlan, *, actor: str) -> BulkEditResult:
        """Write a plan of :meth:`ControlStore.plan_bulk_edit` (one audited change set)."""
        return self.store.apply_bulk_plan(plan, actor=actor, validate=self.strategy_problems)

    def strategy_problems(self, config: TableConfig) -> list[FieldProblem]:
        """The strategy's problems with ``config`` (unknown strategy, bad options)."""
        try:
            self.host.strategy(config.strategy).parse_options(
                config.strategy_options, table=config.name)
        except ValidationError as exc:
            return list(exc.problems)
        except ConfigError as exc:  # unknown strategy: the message lists the registered
            return [FieldProblem("strategy", str(exc))]
        return []

    # -- config as code (declarative/; needs the config extra) ----------------------

    def plan_config(self, path: str | Path, *, prune: bool = False) -> ConfigPlan:
        """What applying the YAML file at ``path`` would change in this environment.

        Raises:
            ConfigFileError: The file is malformed (every problem, with line numbers).
        """
        from dataloader_sdk.declarative import load_config, plan_config

        wanted = load_config(path, host=self.host).for_environment(self.store.environment)
        return plan_config(self.store, wanted, prune=prune)

    def apply_config(
        self, path: str | Path, *, actor: str, prune: bool = False,
        expected: ConfigPlan | None = None,
    ) -> ConfigApplyResult:
        """Apply the YAML file at ``path`` in one transaction (audit action ``apply``).

        Raises:
            ConfigFileError: The file is malformed; nothing is applied.
            ChangeConflictError: ``expected`` (a plan shown earlier) no longer holds.
        """
        from dataloader_sdk.declarative import apply_config, load_config

        wanted = load_config(path, host=self.host).for_environment(self.store.environment)
        return apply_config(self.store, wanted, actor=actor, prune=prune, expected=expected)

    def export_config(self) -> str:
        """This environment's sources and tables as YAML (secrets as references only)."""
        from dataloader_sdk.declarative import export_config

        return export_config({self.store.environment: self.store})
