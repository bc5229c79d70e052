"""SQL functions a database spells as a template, for type projections and casts.

A projection (``SYS_EXTRACT_UTC(col)``, ``CONVERT(NVARCHAR(MAX), col)``) is a SQLAlchemy
function element that compiles to its template with the compiled arguments in place of
``{}``, so a database's type module states each one as a name and a template (a table)
instead of a class and a compile function. A test dialect can still give one element its
own spelling with ``@compiles(element, "<dialect>")``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["TemplateFunction", "template_function"]


class TemplateFunction(FunctionElement[Any]):
    """A function element compiled as :attr:`template` (``{}``: the arguments, in order)."""

    inherit_cache = True
    #: The SQL text; each ``{}`` takes the next compiled argument.
    template: ClassVar[str] = "{}"


@compiles(TemplateFunction)
def _compile_template(element: TemplateFunction, compiler: SQLCompiler, **kw: Any) -> str:
    return element.template.format(*(compiler.process(c, **kw) for c in element.clauses))


def template_function(name: str, template: str,
                      result: sa.types.TypeEngine[Any] | None = None) -> type[TemplateFunction]:
    """A :class:`TemplateFunction` class named ``name`` (its statement-cache identity)
    that compiles to ``template`` and has the SQL type ``result`` (``NullType`` if none)."""
    attrs: dict[str, Any] = {"inherit_cache": True, "name": name, "template": template}
    if result is not None:
        attrs["type"] = result
    return type(name, (TemplateFunction,), attrs)
