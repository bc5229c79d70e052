"""The catalog statements of the PostgreSQL connector (columns, types, keys, statistics).

Fixed SQL text only: every name and value travels as a bound parameter (``format('%I')``
quotes names server-side), so nothing here is assembled from input or from fragments.
"""

from __future__ import annotations

__all__ = [
    "ATTRIBUTES",
    "CHANGE_SIGNATURE",
    "COLUMN_TYPES",
    "COLUMN_TYPES_OF_TABLES",
    "CURRENT_SCHEMA",
    "LIST_TABLES",
    "PRIMARY_KEY",
    "REGCLASS",
    "REGCLASS_QUALIFIED",
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

#: Columns with their types resolved (domains to their base type, at most 16 levels; the
#: type text is the declared type's), in one round trip, for either
#:
#: * a table: parameters ``schema`` (None: the search path) and ``table``, ``oids`` and
#:   ``mods`` None (``REGCLASS`` and ``ATTRIBUTES`` joined in; ``quote_ident``, unlike
#:   ``format('%I')``, gives NULL for the NULL table of the other mode); or
#: * the result columns of a query: parallel arrays ``oids`` and ``mods``, ``schema`` and
#:   ``table`` None.
#:
#: Columns: ord, typname, mod, is_array, type text, attname (None for a query's
#: columns), nullable. No rows: no such table (or no columns). One statement for both,
#: written out whole, so the domain resolution exists once and reads as what runs.
COLUMN_TYPES = (
    "WITH RECURSIVE u AS ("
    "  SELECT a.attnum AS ord, a.atttypid AS t, a.atttypmod AS mod, a.attname,"
    "  NOT a.attnotnull AS nullable FROM pg_attribute a"
    "  WHERE a.attrelid = to_regclass(CASE WHEN %(schema)s::text IS NULL"
    "    THEN quote_ident(%(table)s::text)"
    "    ELSE quote_ident(%(schema)s::text) || '.' || quote_ident(%(table)s::text) END)"
    "  AND a.attnum > 0 AND NOT a.attisdropped"
    "  UNION ALL"
    "  SELECT x.ord, x.oid, x.mod, NULL, true"
    "  FROM unnest(%(oids)s::oid[], %(mods)s::int4[]) WITH ORDINALITY AS x(oid, mod, ord)"
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

#: :data:`COLUMN_TYPES` of several tables at once (a batch's unchanged sweep): parallel
#: arrays ``schemas`` (NULL: the search path) and ``tables``; the first column is the
#: table's 1-based position in them, then the columns of :data:`COLUMN_TYPES`. A table
#: that does not exist has no rows.
COLUMN_TYPES_OF_TABLES = (
    "WITH RECURSIVE o AS ("
    "  SELECT x.i, to_regclass(CASE WHEN x.s IS NULL THEN quote_ident(x.t)"
    "    ELSE quote_ident(x.s) || '.' || quote_ident(x.t) END) AS rel"
    "  FROM unnest(%(schemas)s::text[], %(tables)s::text[]) WITH ORDINALITY AS x(s, t, i)"
    "), u AS ("
    "  SELECT o.i, a.attnum AS ord, a.atttypid AS t, a.atttypmod AS mod, a.attname,"
    "  NOT a.attnotnull AS nullable FROM o JOIN pg_attribute a ON a.attrelid = o.rel"
    "  WHERE a.attnum > 0 AND NOT a.attisdropped"
    "), r AS ("
    "  SELECT u.i, u.ord, u.t, u.mod, 0 AS depth FROM u"
    "  UNION ALL"
    "  SELECT r.i, r.ord, t.typbasetype, t.typtypmod, r.depth + 1 FROM r"
    "  JOIN pg_type t ON t.oid = r.t WHERE t.typtype = 'd' AND r.depth < 16"
    ") SELECT DISTINCT ON (r.i, r.ord) r.i, r.ord, t.typname, r.mod, t.typcategory = 'A',"
    "  format_type(u.t, u.mod), u.attname, u.nullable"
    " FROM r JOIN pg_type t ON t.oid = r.t JOIN u ON u.i = r.i AND u.ord = r.ord"
    " ORDER BY r.i, r.ord, r.depth DESC"
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
