"""The ``sqlalchemy`` connector's probe hooks: the template's answers, run on the engine.

A ``MAX``/``MIN`` answer is converted by the type map and refused where a text cursor
holds numbers or timestamps (the template's default). There is no portable cheap change
signature, so ``ChangeSignature`` answers ``None`` and strategies compare row counts and
maxima.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from dataloader_sdk.connectors.sql.probes import ProbeHost

if TYPE_CHECKING:
    from dataloader_sdk.errors import SourceError
    from dataloader_sdk.model import SourceObject
    from dataloader_sdk.statements import SelectStatement

__all__ = ["SqlAlchemyProbes"]


class _Host(ProbeHost, Protocol):
    @property
    def conn(self) -> sa.Connection: ...

    def classify_error(self, exc: BaseException, *, action: str,
                       obj: SourceObject | None = None, hint: str = "") -> SourceError: ...


class SqlAlchemyProbes:
    """The probe hooks of :class:`~dataloader_sdk.connectors.sqlalchemy_url.SqlAlchemyConnector`."""

    def _probe_rows(self: _Host, obj: SourceObject, stmt: SelectStatement) -> list[tuple[Any, ...]]:
        try:
            return [tuple(row) for row in self.conn.execute(stmt)]
        except sa.exc.DBAPIError as exc:
            raise self.classify_error(exc, action="probing", obj=obj) from None
