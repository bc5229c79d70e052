"""The catalog statements of the PostgreSQL connector (columns, types, keys, statistics).

Fixed SQL text only: every name and value travels as a bound parameter (``format('%I')``
quotes names server-side), so nothing here is assembled from input or from fragments.
"""

from __future__ import annotations

__all__ = [
    "ATTRIBUTES",
    "CHANGE_SIGNATURE",
    "CURRENT_SCHEMA",
    "LIST_TABLES",
    "PRIMARY_KEY",
    "REGCLASS",
    "REGCLASS_QUALIFIED",
    "RESOLVE_TYPES",
    "TABLE_COLUMNS",
]

REGCLASS = "SELECT to_regclass(format('%%I', %s::text))::oid"
REGCLASS_QUALIFIED = "SELECT to_regclass(format('%%I.%%I', %s::text, %s::text))::oid"

LIST_TABLES = (
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = coalesce(%s, current_schema()) "
    "AND c.relkind IN ('r', 'v', 'm', 'p', 'f') ORDER BY 1 LIMIT 51"
)

CURRENT_SCHEMA = "SELECT current_schema()"

ATTRIBUTES = (
    "SELECT attname, atttypid, atttypmod, NOT attnotnull FROM pg_attribute "
    "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
)

# Domains resolve to their base type (at most 16 levels); the type text is the declared
# type's. The statements are written out whole (no joined fragments), so each one reads
# as what the server runs.

#: (ord, typname, mod, is_array, type text) for parallel arrays of type oids and mods.
RESOLVE_TYPES = (
    "WITH RECURSIVE u AS ("
    "  SELECT ord, oid AS t, mod FROM unnest(%s::oid[], %s::int4[]) "
    "  WITH ORDINALITY AS x(oid, mod, ord)"
    "), r AS ("
    "  SELECT u.ord, u.t, u.mod, 0 AS depth FROM u"
    "  UNION ALL"
    "  SELECT r.ord, t.typbasetype, t.typtypmod, r.depth + 1 FROM r"
    "  JOIN pg_type t ON t.oid = r.t WHERE t.typtype = 'd' AND r.depth < 16"
    ") SELECT DISTINCT ON (r.ord) r.ord, t.typname, r.mod, t.typcategory = 'A',"
    "  format_type(u.t, u.mod)"
    " FROM r JOIN pg_type t ON t.oid = r.t JOIN u ON u.ord = r.ord"
    " ORDER BY r.ord, r.depth DESC"
)

#: A table's columns with resolved types in one round trip: ``REGCLASS``, ``ATTRIBUTES``
#: and ``RESOLVE_TYPES`` joined; parameters ``schema`` (None: the search path) and
#: ``table``. Columns: ord, typname, mod, is_array, type text, attname, nullable. No rows:
#: no such table (or no columns).
TABLE_COLUMNS = (
    "WITH RECURSIVE u AS ("
    "  SELECT a.attnum AS ord, a.atttypid AS t, a.atttypmod AS mod, a.attname,"
    "  NOT a.attnotnull AS nullable FROM pg_attribute a"
    "  WHERE a.attrelid = to_regclass(CASE WHEN %(schema)s::text IS NULL"
    "    THEN format('%%I', %(table)s::text)"
    "    ELSE format('%%I.%%I', %(schema)s::text, %(table)s::text) END)"
    "  AND a.attnum > 0 AND NOT a.attisdropped"
    "), r AS ("
    "  SELECT u.ord, u.t, u.mod, 0 AS depth FROM u"
    "  UNION ALL"
    "  SELECT r.ord, t.typbasetype, t.typtypmod, r.depth + 1 FROM r"
    "  JOIN pg_type t ON t.oid = r.t WHERE t.typtype = 'd' AND r.depth < 16"
    ") SELECT DISTINCT ON (r.ord) r.ord, t.typname, r.mod, t.typcategory = 'A',"
    "  format_type(u.t, u.mod), u.attname, u.nullable"
    " FROM r JOIN pg_type t ON t.oid = r.t JOIN u ON u.ord = r.ord"
    " ORDER BY r.ord, r.depth DESC"
)

PRIMARY_KEY = (
    "SELECT a.attname FROM pg_index i "
    "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
    "WHERE i.indrelid = %s AND i.indisprimary ORDER BY k.ord"
)

CHANGE_SIGNATURE = (
    "SELECT c.relfilenode, s.n_tup_ins, s.n_tup_upd, s.n_tup_del "
    "FROM pg_class c LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid "
    "WHERE c.oid = %s"
)
