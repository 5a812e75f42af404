"""Compile the column map (scout.registry.columns) into the set-based T-SQL the registry jobs send.

Both the consolidation (legacy -> registry) and the compare (registry read back as legacy, against the
legacy tables) are generated from the same ``Column`` list, one expression per column, so adding a
column to the map carries it everywhere. Every expression is portable T-SQL (sql/README.md).

Comparisons are exact, as a migration must be: text is equal only when it is equal byte for byte,
case and trailing spaces included, on both engines (``x = y COLLATE Latin1_General_100_BIN2 AND
DATALENGTH(x) = DATALENGTH(y)``: the binary collation makes SQL Server see case, the length makes it see
the trailing spaces its ``=`` ignores), and NULL equals only NULL (an empty text is a value).

The compare reads both sides twice at most: a first pass (``range_checksums``) with one checksum per
row (SHA-256 of the values' text on SQL Server; DuckDB hashes the values themselves, see
scout.db.translate) compared per legacy id and summed up per key range, then the exact row detail
(``CompareSql.detail``) only in the key ranges that differ.
"""

from __future__ import annotations

from collections.abc import Callable

from scout.registry.columns import (
    DH_COLUMNS,
    JSON_COLUMNS,
    ORG_COLUMNS,
    PRECEDENCE,
    PRECEDENCE_RULE,
    PROFILE_COLUMNS,
    SPECIFIC_INDUSTRIES,
    Column,
)


def quote(value: str) -> str:
    """A Unicode string literal (the texts quoted here are this module's own, never user input)."""
    return "N'" + value.replace("'", "''") + "'"


BIN2 = "COLLATE Latin1_General_100_BIN2"
KEY = "UPPER(RTRIM({}))"  # the persona key, as Azure SQL's collation compares unique_id
SHARED = tuple(c.name for c in DH_COLUMNS if c.place == "shared")
#: Columns recorded in registry.persona_conflicts: the shared ones, and unique_id when the two sources
#: spell the same key differently (case or trailing spaces).
CONFLICT_COLUMNS = ("unique_id", *SHARED, "industry_id", "primary_role_id")

_KINDS_TEXT = {
    "int": "CAST({} AS NVARCHAR(20))",
    "decimal": "CAST({} AS NVARCHAR(40))",
    "datetime": "CAST({} AS NVARCHAR(40))",
    "bit": "CASE WHEN {0} = 1 THEN N'1' WHEN {0} = 0 THEN N'0' END",
    "text": "{}",
    "json": "{}",
}


def as_text(expr: str, kind: str) -> str:
    """The value as text, the same way on both sides of a comparison (NULL stays NULL)."""
    return _KINDS_TEXT[kind].format(expr)


def same(a: str, b: str) -> str:
    """Exactly equal text, NULL only equal to NULL: binary equal and of the same length (SQL Server's
    ``=`` ignores trailing spaces; DATALENGTH counts them). No text is built to compare."""
    return (
        f"(({a} IS NULL AND {b} IS NULL) OR ({a} IS NOT NULL AND {b} IS NOT NULL "
        f"AND {a} = {b} {BIN2} AND DATALENGTH({a}) = DATALENGTH({b})))"
    )


def json_value(expr: str, kind: str) -> str:
    """One legacy value as a JSON value: string, number, true/false, or null. Strings are escaped by the
    engine (``STRING_ESCAPE(x, 'json')``: quotes, backslashes and every control character)."""
    if kind == "text":
        return f"CASE WHEN {expr} IS NULL THEN N'null' ELSE CONCAT(N'\"', STRING_ESCAPE({expr}, 'json'), N'\"') END"
    if kind == "bit":
        return f"CASE WHEN {expr} IS NULL THEN N'null' WHEN {expr} = 1 THEN N'true' ELSE N'false' END"
    return f"COALESCE({as_text(expr, kind)}, N'null')"


def profile_fragment(column: Column, prefix: str) -> str:
    """``"name":value`` of one profile attribute, read from the legacy column ``<prefix><name>``."""
    return f"CONCAT(N'\"{column.name}\":', {json_value(prefix + column.name, column.kind)})"


def profile_object(prefix: str) -> str:
    """The canonical JSON object of the profile attributes: keys sorted, no whitespace (one CONCAT)."""
    parts: list[str] = []
    for i, column in enumerate(sorted(PROFILE_COLUMNS, key=lambda c: c.name)):
        parts += [f"N'{'{' if i == 0 else ','}\"{column.name}\":'", json_value(prefix + column.name, column.kind)]
    return f"CONCAT({', '.join(parts)}, N'}}')"


def checksum(values: list[str]) -> str:
    """A checksum of text values, NULL apart from empty text and no two lists alike (each value is
    prefixed by its size): SHA-256 on SQL Server; DuckDB hashes the values themselves (the translation
    of this very form, scout.db.translate)."""
    tagged = ", ".join(f"CASE WHEN {v} IS NULL THEN N'~' ELSE CONCAT(DATALENGTH({v}), N':', {v}) END" for v in values)
    return f"HASHBYTES('SHA2_256', CONCAT_WS(N'|', {tagged}))"


def share(legacy_id: str, column: str, value: str, nullable: bool = True) -> str:
    """One value's share of a key range checksum: 56 bits of the checksum of (legacy id, column, value)
    as a number (a row's dozen shares add up without overflow); 0 for NULL, so a missing mapping row
    and a NULL legacy value agree."""
    k = f"CAST(SUBSTRING({checksum([f'CAST({legacy_id} AS NVARCHAR(20))', quote(column), value])}, 1, 7) AS BIGINT)"
    return f"CASE WHEN {value} IS NULL THEN 0 ELSE {k} END" if nullable else k


def hex_text(binary: str) -> str:
    """A checksum as text (hex digits), to be a value of another checksum."""
    return f"CONVERT(NVARCHAR(64), {binary}, 2)"


def _json_form_join(alias: str, raw: str) -> str:
    """The json_forms row of a legacy JSON text: the very same text (binary, trailing spaces counted)."""
    return (
        f"LEFT JOIN registry.json_forms AS {alias} ON {alias}.raw_text = {raw} {BIN2} "
        f"AND DATALENGTH({alias}.raw_text) = DATALENGTH({raw})"
    )


# -- consolidation ------------------------------------------------------------------------------------


def _source() -> str:
    """``src``: one row per persona key, the dh row and the org row side by side (d_*, o_*)."""
    dh = ", ".join(f"d.{c.name} AS d_{c.name}" for c in DH_COLUMNS)
    org = ", ".join(f"o.{c.name} AS o_{c.name}" for c in ORG_COLUMNS)
    forms = ", ".join(f"f_{j}.raw_sha256 AS fk_{j}, f_{j}.canonical AS fc_{j}" for j in JSON_COLUMNS)
    joins = " ".join(_json_form_join(f"f_{j}", f"d.{j}") for j in JSON_COLUMNS)
    return f"""src AS (
    SELECT COALESCE({KEY.format("d.unique_id")}, {KEY.format("o.unique_id")}) AS k, {dh}, {org}, {forms}
    FROM legacy.dh_personas AS d
    FULL OUTER JOIN legacy.org_personas AS o ON {KEY.format("o.unique_id")} = {KEY.format("d.unique_id")}
    {joins}
)"""


def _chosen(name: str) -> str:
    first, second = ("d", "o") if PRECEDENCE[name] == "dh" else ("o", "d")
    return f"COALESCE({first}_{name}, {second}_{name})"


PERSONA_COLUMNS = (
    "unique_id",
    "name",
    "title",
    "description",
    "seniority_level",
    "decision_authority",
    "persona_type",
    "department_id",
    "function_id",
    "profile",
    *JSON_COLUMNS,
    "tenant_id",
    "is_public",
    "dh_legacy_id",
    "org_legacy_id",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "deleted_at",
    "registry_source",
)
#: The legacy column kind of each typed registry column (legacy ids, org's department and function, dh's
#: typed columns); every other persona column is text (the key, shared texts, JSON, profile, source).
_KIND_OF_TARGET = {c.target: c.kind for c in (*DH_COLUMNS, *ORG_COLUMNS) if c.target and c.place != "industry"}
_TEXT_PERSONA_COLUMNS = {c for c in PERSONA_COLUMNS if _KIND_OF_TARGET.get(c, "text") in ("text", "json")}


def _persona_values() -> dict[str, str]:
    values = {
        "unique_id": "COALESCE(d_unique_id, o_unique_id)",
        "department_id": "o_department_id",
        "function_id": "o_function_id",
        "profile": f"CASE WHEN d_id IS NULL THEN NULL ELSE {profile_object('d_')} END",
        "dh_legacy_id": "d_id",
        "org_legacy_id": "o_id",
        "registry_source": (
            "CASE WHEN d_id IS NOT NULL AND o_id IS NOT NULL THEN N'both' WHEN d_id IS NOT NULL THEN N'dh' ELSE N'org' END"
        ),
    }
    for name in SHARED:
        values[name] = _chosen(name)
    for name in JSON_COLUMNS:
        values[name] = f"fc_{name}"
    for c in DH_COLUMNS:
        if c.place == "typed":
            values[c.target] = f"d_{c.name}"
    return values


def consolidate_personas() -> str:
    """MERGE every legacy persona into registry.personas: new keys inserted (new uuid), changed ones
    updated, unchanged ones untouched (so running it twice is running it once)."""
    values = _persona_values()
    select = ",\n           ".join(f"{values[c]} AS {c}" for c in PERSONA_COLUMNS)
    changed = " OR ".join(
        f"NOT {same(f'p.{c}', f's.{c}')}" if c in _TEXT_PERSONA_COLUMNS else f"NOT {same_value(f'p.{c}', f's.{c}')}"
        for c in PERSONA_COLUMNS
    )
    updates = ", ".join(f"{c} = s.{c}" for c in PERSONA_COLUMNS if c != "unique_id")
    columns = ", ".join(PERSONA_COLUMNS)
    inserted = ", ".join(f"s.{c}" for c in PERSONA_COLUMNS)
    return f"""WITH {_source()},
ps AS (
    SELECT k,
           {select}
    FROM src
)
MERGE INTO registry.personas AS p
USING ps AS s ON {KEY.format("p.unique_id")} = s.k
WHEN MATCHED AND ({changed}) THEN UPDATE SET {updates}, registry_updated_at = SYSUTCDATETIME()
WHEN NOT MATCHED THEN INSERT (persona_id, {columns}, registry_updated_at)
    VALUES (CAST(NEWID() AS NVARCHAR(36)), {inserted}, SYSUTCDATETIME());"""


def same_value(a: str, b: str) -> str:
    """Equal numbers, bits or times; NULL only equal to NULL (never unknown: ``NOT`` of it is exact)."""
    return f"(({a} IS NULL AND {b} IS NULL) OR ({a} IS NOT NULL AND {b} IS NOT NULL AND {a} = {b}))"


def _persona_of_src() -> str:
    return f"JOIN registry.personas AS p ON {KEY.format('p.unique_id')} = src.k"


def consolidate_invalid_json() -> str:
    """Legacy JSON text that is not valid JSON, kept verbatim per persona and column."""
    parts = " UNION ALL ".join(
        f"SELECT p.persona_id, N'{j}' AS column_name, src.d_{j} AS raw_text FROM src {_persona_of_src()} "
        f"WHERE src.d_{j} IS NOT NULL AND src.fk_{j} IS NOT NULL AND src.fc_{j} IS NULL"
        for j in JSON_COLUMNS
    )
    return f"""WITH {_source()},
bad AS ({parts})
MERGE INTO registry.persona_invalid_json AS t
USING bad AS s ON t.persona_id = s.persona_id AND t.column_name = s.column_name
WHEN MATCHED AND NOT {same("t.raw_text", "s.raw_text")} THEN UPDATE SET raw_text = s.raw_text
WHEN NOT MATCHED THEN INSERT (persona_id, column_name, raw_text) VALUES (s.persona_id, s.column_name, s.raw_text)
WHEN NOT MATCHED BY SOURCE THEN DELETE;"""


def _sources_json(tag: str) -> str:
    return f"""CONCAT(N'{{"sources":[', STRING_AGG({tag}, N',') WITHIN GROUP (ORDER BY {tag}), N']}}')"""


def _industry_of_code(code: str) -> str:
    return f"(SELECT MIN(industry_id) FROM registry.industries WHERE code = N'{code}')"


def consolidate_industry_mapping() -> str:
    """One mapping row per persona and industry; the legacy columns it carries in metadata.sources."""
    parts = [
        f"SELECT p.persona_id, src.d_industry_id AS industry_id, N'\"dh.industry_id\"' AS tag, "
        f"CAST(NULL AS NVARCHAR(50)) AS specific_id, "
        f"CASE WHEN src.d_industry_id IS NOT NULL THEN 1 ELSE 0 END AS primary_flag "
        f"FROM src {_persona_of_src()} WHERE src.d_industry_id IS NOT NULL",
        f"SELECT p.persona_id, src.o_industry_id, N'\"org.industry_id\"', CAST(NULL AS NVARCHAR(50)), "
        f"CASE WHEN src.d_industry_id IS NULL THEN 1 ELSE 0 END "
        f"FROM src {_persona_of_src()} WHERE src.o_industry_id IS NOT NULL",
    ]
    for c in DH_COLUMNS:
        if c.place == "industry" and c.target:
            parts.append(
                f"SELECT p.persona_id, {_industry_of_code(c.target)}, N'\"dh.{c.name}\"', src.d_{c.name}, 0 "
                f"FROM src {_persona_of_src()} WHERE src.d_{c.name} IS NOT NULL"
            )
    union = "\n    UNION ALL ".join(parts)
    return f"""WITH {_source()},
tagged AS (
    {union}
),
mapped AS (
    SELECT persona_id, industry_id, MAX(primary_flag) AS is_primary, MAX(specific_id) AS industry_specific_id,
           {_sources_json("tag")} AS metadata
    FROM tagged GROUP BY persona_id, industry_id
)
MERGE INTO registry.persona_industry_mapping AS t
USING mapped AS s ON t.persona_id = s.persona_id AND t.industry_id = s.industry_id
WHEN MATCHED AND NOT ({same_value("t.is_primary", "s.is_primary")} AND {same("t.industry_specific_id", "s.industry_specific_id")}
    AND {same("t.metadata", "s.metadata")})
    THEN UPDATE SET is_primary = s.is_primary, industry_specific_id = s.industry_specific_id, metadata = s.metadata
WHEN NOT MATCHED THEN INSERT (persona_id, industry_id, is_primary, industry_specific_id, metadata)
    VALUES (s.persona_id, s.industry_id, s.is_primary, s.industry_specific_id, s.metadata)
WHEN NOT MATCHED BY SOURCE AND CHARINDEX(N'"ref.persona_rules"', t.metadata) = 0 THEN DELETE;"""


def consolidate_role_mapping() -> str:
    """One mapping row per persona and role: org's primary role is the primary one (dh's when org has none)."""
    return f"""WITH {_source()},
tagged AS (
    SELECT p.persona_id, src.o_primary_role_id AS role_id, N'"org.primary_role_id"' AS tag, 1 AS primary_flag
    FROM src {_persona_of_src()} WHERE src.o_primary_role_id IS NOT NULL
    UNION ALL
    SELECT p.persona_id, src.d_primary_role_id, N'"dh.primary_role_id"',
           CASE WHEN src.o_primary_role_id IS NULL THEN 1 ELSE 0 END
    FROM src {_persona_of_src()} WHERE src.d_primary_role_id IS NOT NULL
),
mapped AS (
    SELECT persona_id, role_id, MAX(primary_flag) AS is_primary, {_sources_json("tag")} AS metadata
    FROM tagged GROUP BY persona_id, role_id
)
MERGE INTO registry.persona_role_mapping AS t
USING mapped AS s ON t.persona_id = s.persona_id AND t.role_id = s.role_id
WHEN MATCHED AND NOT ({same_value("t.is_primary", "s.is_primary")} AND {same("t.metadata", "s.metadata")})
    THEN UPDATE SET is_primary = s.is_primary, metadata = s.metadata
WHEN NOT MATCHED THEN INSERT (persona_id, role_id, is_primary, metadata)
    VALUES (s.persona_id, s.role_id, s.is_primary, s.metadata)
WHEN NOT MATCHED BY SOURCE AND CHARINDEX(N'"ref.persona_rules"', t.metadata) = 0 THEN DELETE;"""


def consolidate_conflicts() -> str:
    """Every column both sources hold for a persona and disagree on, with both values and the winner."""
    kinds = {c.name: c.kind for c in ORG_COLUMNS}
    parts = []
    for name in CONFLICT_COLUMNS:
        winner = PRECEDENCE.get(name, "dh")
        rule = PRECEDENCE_RULE[winner] if name in PRECEDENCE else "the dh_personas spelling of the key is kept"
        if name in ("industry_id",):
            rule = "dh's industry is the primary mapping, org's a secondary one (both kept)"
        if name in ("primary_role_id",):
            rule = "org's role is the primary mapping, dh's a secondary one (both kept)"
        chosen = f"CASE WHEN src.{'d' if winner == 'dh' else 'o'}_{name} IS NULL THEN N'{'org' if winner == 'dh' else 'dh'}' ELSE N'{winner}' END"
        d_text, o_text = as_text(f"src.d_{name}", kinds[name]), as_text(f"src.o_{name}", kinds[name])
        parts.append(
            f"SELECT src.k, N'{name}' AS column_name, {d_text} AS dh_value, {o_text} AS org_value, "
            f"{chosen} AS chosen_source, {quote(rule)} AS precedence_rule "
            f"FROM src WHERE src.d_id IS NOT NULL AND src.o_id IS NOT NULL AND NOT {same(d_text, o_text)}"
        )
    union = "\n    UNION ALL ".join(parts)
    return f"""WITH {_source()},
found AS (
    SELECT p.unique_id, c.column_name, c.dh_value, c.org_value, c.chosen_source, c.precedence_rule
    FROM ({union}) AS c
    JOIN registry.personas AS p ON {KEY.format("p.unique_id")} = c.k
)
MERGE INTO registry.persona_conflicts AS t
USING found AS s ON t.unique_id = s.unique_id AND t.column_name = s.column_name
WHEN MATCHED AND NOT ({same("t.dh_value", "s.dh_value")} AND {same("t.org_value", "s.org_value")}
    AND {same("t.chosen_source", "s.chosen_source")})
    THEN UPDATE SET dh_value = s.dh_value, org_value = s.org_value, chosen_source = s.chosen_source,
        precedence_rule = s.precedence_rule, detected_at = SYSUTCDATETIME()
WHEN NOT MATCHED THEN INSERT (unique_id, column_name, dh_value, org_value, chosen_source, precedence_rule, detected_at)
    VALUES (s.unique_id, s.column_name, s.dh_value, s.org_value, s.chosen_source, s.precedence_rule, SYSUTCDATETIME())
WHEN NOT MATCHED BY SOURCE THEN DELETE;"""


def reference_statements() -> list[str]:
    """Industries and roles: legacy rows by id, ids legacy personas point at that legacy lacks ('dangling'),
    and the industries of the industry-specific ids (Scout's own when legacy has no such code)."""
    out = [
        """MERGE INTO registry.industries AS t
USING legacy.industries AS s ON t.industry_id = s.id
WHEN MATCHED AND NOT (CONCAT(t.code, N'.') = CONCAT(s.code, N'.') COLLATE Latin1_General_100_BIN2
    AND CONCAT(t.name, N'.') = CONCAT(s.name, N'.') COLLATE Latin1_General_100_BIN2 AND t.origin = N'legacy')
    THEN UPDATE SET code = s.code, name = s.name, origin = N'legacy'
WHEN NOT MATCHED THEN INSERT (industry_id, code, name, origin) VALUES (s.id, s.code, s.name, N'legacy');""",
        """MERGE INTO registry.roles AS t
USING legacy.org_roles AS s ON t.role_id = s.id
WHEN MATCHED AND NOT (CONCAT(t.name, N'.') = CONCAT(s.name, N'.') COLLATE Latin1_General_100_BIN2
    AND ((t.department_id IS NULL AND s.department_id IS NULL) OR t.department_id = s.department_id)
    AND ((t.function_id IS NULL AND s.function_id IS NULL) OR t.function_id = s.function_id) AND t.origin = N'legacy')
    THEN UPDATE SET name = s.name, department_id = s.department_id, function_id = s.function_id, origin = N'legacy'
WHEN NOT MATCHED THEN INSERT (role_id, name, department_id, function_id, origin)
    VALUES (s.id, s.name, s.department_id, s.function_id, N'legacy');""",
        """INSERT INTO registry.industries (industry_id, code, name, origin)
SELECT x.industry_id, CONCAT(N'unknown-', x.industry_id), CONCAT(N'unknown industry ', x.industry_id), N'dangling'
FROM (SELECT industry_id FROM legacy.dh_personas UNION SELECT industry_id FROM legacy.org_personas) AS x
WHERE x.industry_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM registry.industries AS i WHERE i.industry_id = x.industry_id);""",
        """INSERT INTO registry.roles (role_id, name, origin)
SELECT x.role_id, CONCAT(N'unknown role ', x.role_id), N'dangling'
FROM (SELECT primary_role_id AS role_id FROM legacy.dh_personas UNION SELECT primary_role_id FROM legacy.org_personas) AS x
WHERE x.role_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM registry.roles AS r WHERE r.role_id = x.role_id);""",
    ]
    for code, industry_id in SPECIFIC_INDUSTRIES.items():
        from scout.registry.columns import SPECIFIC_INDUSTRY_NAMES

        out.append(
            f"""INSERT INTO registry.industries (industry_id, code, name, origin)
SELECT {industry_id}, N'{code}', N'{SPECIFIC_INDUSTRY_NAMES[code]}', N'scout'
WHERE NOT EXISTS (SELECT 1 FROM registry.industries WHERE code = N'{code}');"""
        )
    return out


# -- compare ------------------------------------------------------------------------------------------

#: Rows per key range of the first pass (ranges of the legacy id).
RANGE_ROWS = 10_000


def _is_text(c: Column) -> bool:
    return c.kind in ("text", "json")


def _equal(c: Column, a: str, b: str) -> str:
    """The two values of column ``c`` are the same, compared in their own type (no text is built)."""
    return same(a, b) if _is_text(c) else same_value(a, b)


def _old_value(source: str, c: Column) -> str:
    """A legacy column's value as compared: itself, typed; JSON text through its canonical form."""
    col = f"{source}.{c.name}"
    if c.place == "json":
        return (
            f"CASE WHEN {col} IS NULL THEN NULL WHEN f_{c.name}.raw_sha256 IS NULL THEN CONCAT(N'unrecorded:', {col}) "
            f"WHEN f_{c.name}.canonical IS NULL THEN CONCAT(N'invalid:', {col}) "
            f"ELSE CONCAT(N'json:', f_{c.name}.canonical) END"
        )
    return col


def _new_value(side: str, c: Column) -> str:
    """The same value read back from the registry, in the legacy column's type."""
    if c.place == "key":
        return f"CASE WHEN cf.has_unique_id = 1 THEN cf.{side}_unique_id ELSE p.unique_id END"
    if c.place == "legacy_id":
        return f"p.{c.target}"
    if c.place == "shared":
        return f"CASE WHEN cf.has_{c.name} = 1 THEN cf.{side}_{c.name} ELSE p.{c.target} END"
    if c.place == "typed":
        return f"p.{c.target}"
    if c.place == "json":
        return (
            f"CASE WHEN ij.{c.name} IS NOT NULL THEN CONCAT(N'invalid:', ij.{c.name}) "
            f"WHEN p.{c.name} IS NULL THEN NULL ELSE CONCAT(N'json:', p.{c.name}) END"
        )
    if c.place == "industry":
        return f"im.{side}_{c.name}"
    if c.place == "role":
        return f"rm.{side}_{c.name}"
    raise ValueError(c.place)


def _pivots(side: str) -> str:
    """Conflicts, invalid JSON and mappings of the personas in the CTE ``sel`` (persona_id, unique_id), one
    row per persona, for reading the legacy table's values back: ``cf.has_<column>`` and
    ``cf.<side>_<column>``, ``im.<side>_<column>``, ``rm.<side>_primary_role_id`` and, for dh,
    ``ij.<json column>``."""
    by_id = " WHERE persona_id IN (SELECT persona_id FROM sel)"
    conflict_cols = ", ".join(
        f"MAX(CASE WHEN column_name = N'{n}' THEN 1 ELSE 0 END) AS has_{n}, "
        f"MAX(CASE WHEN column_name = N'{n}' THEN {side}_value END) AS {side}_{n}"
        for n in ("unique_id", *SHARED)
    )
    industry = ", ".join(
        f"MAX(CASE WHEN CHARINDEX(N'\"{side}.{c.name}\"', metadata) > 0 "
        f"THEN {'industry_specific_id' if c.target else 'industry_id'} END) AS {side}_{c.name}"
        for c in (DH_COLUMNS if side == "dh" else ORG_COLUMNS)
        if c.place == "industry"
    )
    joins = [
        f"LEFT JOIN (SELECT unique_id, {conflict_cols} FROM registry.persona_conflicts "
        "WHERE unique_id IN (SELECT unique_id FROM sel) GROUP BY unique_id) AS cf ON cf.unique_id = p.unique_id",
        f"LEFT JOIN (SELECT persona_id, {industry} FROM registry.persona_industry_mapping{by_id} "
        "GROUP BY persona_id) AS im ON im.persona_id = p.persona_id",
        f"LEFT JOIN (SELECT persona_id, MAX(CASE WHEN CHARINDEX(N'\"{side}.primary_role_id\"', metadata) > 0 "
        f"THEN role_id END) AS {side}_primary_role_id FROM registry.persona_role_mapping{by_id} GROUP BY persona_id) AS rm "
        "ON rm.persona_id = p.persona_id",
    ]
    if side == "dh":
        invalid = ", ".join(f"MAX(CASE WHEN column_name = N'{j}' THEN raw_text END) AS {j}" for j in JSON_COLUMNS)
        joins.append(
            f"LEFT JOIN (SELECT persona_id, {invalid} FROM registry.persona_invalid_json{by_id} GROUP BY persona_id) AS ij "
            "ON ij.persona_id = p.persona_id"
        )
    return "\n    ".join(joins)


class CompareSql:
    """The compare statements for one legacy table (``dh`` or ``org``)."""

    def __init__(self, side: str) -> None:
        self.side = side
        self.columns = DH_COLUMNS if side == "dh" else ORG_COLUMNS
        self.table = "legacy.dh_personas" if side == "dh" else "legacy.org_personas"
        self.id_column = "dh_legacy_id" if side == "dh" else "org_legacy_id"
        self.plain = tuple(c for c in self.columns if c.place != "profile")
        self.code = 1 if side == "dh" else 2  # the side in range_checksums()

    def _old(self) -> str:
        """Legacy rows of the key ranges given as parameters: key, each column's value (o_*), and each
        profile attribute as its JSON fragment (o_*, with on_* = 1 where the legacy value is NULL)."""
        joins = " ".join(_json_form_join(f"f_{c.name}", f"l.{c.name}") for c in self.plain if c.place == "json")
        values = [f"{_old_value('l', c)} AS o_{c.name}" for c in self.plain]
        if self.side == "dh":
            values += [
                f"{profile_fragment(c, 'l.')} AS o_{c.name}, CASE WHEN l.{c.name} IS NULL THEN 1 ELSE 0 END AS on_{c.name}"
                for c in PROFILE_COLUMNS
            ]
        return (
            f"SELECT {KEY.format('l.unique_id')} AS k, l.unique_id AS uid, {', '.join(values)} "
            f"FROM {self.table} AS l {joins} WHERE l.id - l.id % {RANGE_ROWS} IN ({{marks}})"
        )

    def _new(self) -> str:
        """The registry rows of the personas in ``sel`` read back as the legacy table: key and values (n_*)."""
        values = [f"{_new_value(self.side, c)} AS n_{c.name}" for c in self.plain]
        if self.side == "dh":
            values.append("p.profile AS n_profile")
        return (
            f"SELECT {KEY.format('p.unique_id')} AS k, p.unique_id AS uid, {', '.join(values)} "
            f"FROM registry.personas AS p\n    {_pivots(self.side)}\n    "
            "WHERE p.persona_id IN (SELECT persona_id FROM sel)"
        )

    def own_values(self, old: bool) -> list[str]:
        """The values registry.personas holds alone (legacy id, typed columns, canonical JSON, profile),
        in the same order on both sides: one share of the key range checksum."""
        own: list[str] = []
        for c in self.columns:
            if c.place in ("legacy_id", "typed"):
                own.append(as_text(f"l.{c.name}" if old else f"p.{c.target}", c.kind))
            elif c.place == "json":
                own.append(f"f_{c.name}.canonical" if old else f"p.{c.name}")
        if self.side == "dh":
            own.append(profile_object("l.") if old else "p.profile")
        return own

    def old_shares(self) -> str:
        """A legacy row's part of its key range checksum: its own values, then key, shared columns,
        industries and role one by one, and JSON texts that are not canonical JSON (kept verbatim)."""
        shares = [share("l.id", "(own)", hex_text(checksum(self.own_values(old=True))), nullable=False)]
        for c in self.columns:
            if c.place in ("key", "shared", "industry", "role"):
                shares.append(share("l.id", c.name, as_text(f"l.{c.name}", c.kind)))
            elif c.place == "json":
                raw = f"CASE WHEN l.{c.name} IS NOT NULL AND f_{c.name}.canonical IS NULL THEN l.{c.name} END"
                shares.append(share("l.id", f"invalid {c.name}", raw))
        return " + ".join(shares)

    def detail(self, ranges: int) -> str:
        """Row by row, in the ``ranges`` given as parameters (twice: registry, legacy): per column and kind
        of difference, how many and the first key; rows only on one side. Only those ranges are read."""
        marks = ", ".join("?" for _ in range(ranges))
        diffs = [
            "SELECT N'(row)' AS column_name, CASE WHEN n_k IS NULL THEN N'only_in_old' ELSE N'only_in_new' END AS kind, "
            "COALESCE(o_uid, n_uid) AS uid FROM pairs WHERE o_k IS NULL OR n_k IS NULL"
        ]
        for c in self.columns:
            if c.place == "profile":
                key_there = f"CHARINDEX(N'\"{c.name}\":' {BIN2}, n_profile) > 0"
                holds = (
                    f"(CHARINDEX(CONCAT(o_{c.name}, N',') {BIN2}, n_profile) > 0 "
                    f"OR CHARINDEX(CONCAT(o_{c.name}, N'}}') {BIN2}, n_profile) > 0)"
                )
                new_null = (
                    f"(CHARINDEX(N'\"{c.name}\":null,' {BIN2}, n_profile) > 0 "
                    f"OR CHARINDEX(N'\"{c.name}\":null}}' {BIN2}, n_profile) > 0)"
                )
                kind = (
                    f"CASE WHEN n_profile IS NULL OR NOT {key_there} THEN N'missing_in_new' "
                    f"WHEN on_{c.name} = 1 THEN N'null_in_old' WHEN {new_null} THEN N'null_in_new' "
                    "ELSE N'different' END"
                )
                diffs.append(
                    f"SELECT N'{c.name}', {kind}, o_uid FROM pairs "
                    f"WHERE o_k IS NOT NULL AND n_k IS NOT NULL AND NOT (n_profile IS NOT NULL AND {holds})"
                )
                continue
            o, n = f"o_{c.name}", f"n_{c.name}"
            kind = (
                f"CASE WHEN {o} IS NULL THEN N'null_in_old' WHEN {n} IS NULL THEN N'null_in_new' ELSE N'different' END"
            )
            diffs.append(
                f"SELECT N'{c.name}', {kind}, o_uid FROM pairs "
                f"WHERE o_k IS NOT NULL AND n_k IS NOT NULL AND NOT {_equal(c, o, n)}"
            )
        old_cols = ", ".join(
            [f"o.o_{c.name}" for c in self.plain]
            + ([f"o.o_{c.name}, o.on_{c.name}" for c in PROFILE_COLUMNS] if self.side == "dh" else [])
        )
        new_cols = ", ".join([f"n.n_{c.name}" for c in self.plain] + (["n.n_profile"] if self.side == "dh" else []))
        union = "\n    UNION ALL ".join(diffs)
        by_range = f"p.{self.id_column} - p.{self.id_column} % {RANGE_ROWS} IN ({marks})"
        return f"""WITH sel AS (SELECT p.persona_id, p.unique_id FROM registry.personas AS p WHERE {by_range}),
o AS ({self._old().format(marks=marks)}),
n AS ({self._new()}),
pairs AS (
    SELECT o.k AS o_k, o.uid AS o_uid, n.k AS n_k, n.uid AS n_uid, {old_cols}, {new_cols}
    FROM o FULL OUTER JOIN n ON n.k = o.k
),
diffs AS (
    {union}
)
SELECT column_name, kind, COUNT(*) AS n, MIN(uid {BIN2}) AS first_key
FROM diffs GROUP BY column_name, kind"""


SIDES = (CompareSql("dh"), CompareSql("org"))


def range_checksums() -> str:
    """Per legacy table (``side``: CompareSql.code) and key range (``rng``): rows on each side and
    whether their checksums agree (``old_rows``, ``new_rows``, ``same_range``).

    A range's checksum is the sum of one share per row and value: 56 bits of the checksum of (legacy id,
    column, value), nothing for NULL. Sums let each registry table add its own shares without being
    joined to the others: registry.personas its own values (one share), key and shared columns as
    stored; persona_conflicts replaces a stored value by the legacy table's (adds the legacy value's
    share, takes the stored one's away); the mappings add the industries and roles their tags name,
    persona_invalid_json the texts kept verbatim. They join registry.personas only for the legacy ids,
    both legacy tables are summed in the same pass, and nothing is sorted. A changed, moved, missing or
    extra value changes the sum but by a 2^-56 chance; the row detail, by key and exact, decides what
    is reported."""
    olds = []
    for side in SIDES:
        joins = " ".join(_json_form_join(f"f_{c.name}", f"l.{c.name}") for c in side.plain if c.place == "json")
        olds.append(
            f"SELECT {side.code} AS side, l.id - l.id % {RANGE_ROWS} AS rng, COUNT(*) AS n_rows, "
            f"SUM(CAST({side.old_shares()} AS DECIMAL(38, 0))) AS total FROM {side.table} AS l {joins} "
            f"GROUP BY l.id - l.id % {RANGE_ROWS}"
        )

    def per_side(expr: Callable[[CompareSql], str]) -> str:
        return ", ".join(f"CAST({expr(side)} AS DECIMAL(38, 0)) AS {side.side}_total" for side in SIDES)

    def stored(side: CompareSql) -> str:
        lid = f"p.{side.id_column}"
        shares = [share(lid, "(own)", f"p.{side.side}_own", nullable=False)]
        shares += [share(lid, name, f"p.{name}") for name in ("unique_id", *SHARED)]
        return " + ".join(shares)

    def conflicting(side: CompareSql) -> str:
        lid = f"p.{side.id_column}"
        out = []
        for name in ("unique_id", *SHARED):
            legacy, kept = share(lid, name, f"c.{side.side}_value"), share(lid, name, f"p.{name}")
            out.append(f"CASE WHEN c.column_name = N'{name}' THEN {legacy} - {kept} ELSE 0 END")
        return " + ".join(out)

    def mapped(side: CompareSql) -> str:
        """Shares of the values the mapping rows carry for the legacy columns their tags name (``m``: the
        union of the industry and role mappings and the invalid JSON, ``m.tags`` the tags)."""
        lid = f"p.{side.id_column}"
        out = []
        for c in side.columns:
            if c.place == "industry":
                source, value, column, kind = 1, "m.text_value" if c.target else "m.id_value", c.name, c.kind
            elif c.place == "role":
                source, value, column, kind = 2, "m.id_value", c.name, "int"
            elif c.place == "json":
                source, value, column, kind = 3, "m.text_value", f"invalid {c.name}", "text"
            else:
                continue
            out.append(
                f"CASE WHEN m.source = {source} AND CHARINDEX(N'\"{side.side}.{c.name}\"', m.tags) > 0 "
                f"THEN {share(lid, column, as_text(value, kind))} ELSE 0 END"
            )
        return " + ".join(out)

    rngs = ", ".join(f"p.{side.id_column} - p.{side.id_column} % {RANGE_ROWS} AS {side.side}_rng" for side in SIDES)
    rows = ", ".join(f"CASE WHEN p.{side.id_column} IS NULL THEN 0 ELSE 1 END AS {side.side}_rows" for side in SIDES)
    none = ", ".join(f"0 AS {side.side}_rows" for side in SIDES)
    owns = ", ".join(f"{hex_text(checksum(side.own_values(old=False)))} AS {side.side}_own" for side in SIDES)
    union_old = "\n    UNION ALL\n    ".join(olds)

    def pick(what: str) -> str:
        return " ".join(f"WHEN {side.code} THEN pre.{side.side}_{what}" for side in SIDES)

    return f"""WITH o AS (
    {union_old}
),
parts AS (
    SELECT {rngs}, {rows}, {per_side(stored)}
    FROM (SELECT p.*, {owns} FROM registry.personas AS p
          WHERE p.dh_legacy_id IS NOT NULL OR p.org_legacy_id IS NOT NULL) AS p
    UNION ALL
    SELECT {rngs}, {none}, {per_side(conflicting)}
    FROM registry.persona_conflicts AS c JOIN registry.personas AS p ON p.unique_id = c.unique_id
    UNION ALL
    SELECT {rngs}, {none}, {per_side(mapped)}
    FROM (SELECT persona_id, 1 AS source, metadata AS tags, industry_id AS id_value,
                 industry_specific_id AS text_value FROM registry.persona_industry_mapping
          UNION ALL
          SELECT persona_id, 2, metadata, role_id, NULL FROM registry.persona_role_mapping
          UNION ALL
          SELECT persona_id, 3, CONCAT(N'"dh.', column_name, N'"'), NULL, raw_text
          FROM registry.persona_invalid_json) AS m
    JOIN registry.personas AS p ON p.persona_id = m.persona_id
),
pre AS (
    SELECT dh_rng, org_rng, SUM(dh_rows) AS dh_rows, SUM(org_rows) AS org_rows,
           SUM(dh_total) AS dh_total, SUM(org_total) AS org_total
    FROM parts GROUP BY dh_rng, org_rng
),
n AS (
    SELECT s.side, CASE s.side {pick("rng")} END AS rng, SUM(CASE s.side {pick("rows")} END) AS n_rows,
           SUM(CASE s.side {pick("total")} END) AS total
    FROM pre CROSS JOIN (VALUES {", ".join(f"({side.code})" for side in SIDES)}) AS s(side)
    WHERE CASE s.side {pick("rng")} END IS NOT NULL
    GROUP BY s.side, CASE s.side {pick("rng")} END
)
SELECT COALESCE(o.side, n.side) AS side, COALESCE(o.rng, n.rng) AS rng,
       COALESCE(o.n_rows, 0) AS old_rows, COALESCE(n.n_rows, 0) AS new_rows,
       CASE WHEN o.n_rows = n.n_rows AND o.total = n.total THEN 1 ELSE 0 END AS same_range
FROM o FULL OUTER JOIN n ON n.side = o.side AND n.rng = o.rng"""
