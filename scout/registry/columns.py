"""Where every legacy persona column lands in the registry: the consolidation and the compare are both
compiled from this one table (``DH_COLUMNS``, ``ORG_COLUMNS``), so a column cannot be carried by one
and forgotten by the other.

Places (``Column.place``):

- ``key``: ``unique_id``, the persona's key in both sources and in ``registry.personas``;
- ``legacy_id``: the source's own ``id``, kept as ``dh_legacy_id`` / ``org_legacy_id``;
- ``typed``: a typed column of ``registry.personas`` (``target``);
- ``shared``: a typed column both sources have; the precedence below picks the value, and the loser's
  value (when they disagree) is in ``registry.persona_conflicts``;
- ``json``: JSON text; the registry keeps its canonical form (sorted keys, no whitespace), or, when the
  text is not valid JSON, NULL plus the text verbatim in ``registry.persona_invalid_json``;
- ``profile``: an attribute of the JSON object ``registry.personas.profile`` (key = column name); text
  as a JSON string, numbers as JSON numbers, bits as ``true``/``false``, NULL as ``null`` (the key is
  always there: a missing key is a loss, ``null`` is a legacy NULL);
- ``industry``: a row of ``registry.persona_industry_mapping`` (``target`` = the industry code for the
  industry-specific ids; ``metadata.sources`` names the legacy column);
- ``role``: a row of ``registry.persona_role_mapping``.

Precedence (``PRECEDENCE``) when both sources hold the persona and disagree: dh_personas, the richer
profile, wins for the persona's content (name, description, seniority); org_personas, the org chart,
wins for the primary role. A winner's NULL never overrides the other's value (NULL is "not known";
an empty text is a value). The industry both name is kept either way: dh's (else org's) is the
primary mapping, the other a secondary one, so a persona can belong to several industries.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("int", "text", "bit", "decimal", "datetime", "json")
PLACES = ("key", "legacy_id", "typed", "shared", "json", "profile", "industry", "role")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    place: str
    target: str = ""  # typed: the personas column; industry: the industry code (empty: the id itself)


def _c(name: str, kind: str, place: str, target: str = "") -> Column:
    if kind not in KINDS or place not in PLACES:
        raise ValueError(f"{name}: kind {kind!r} / place {place!r}")
    if place in ("typed", "shared") and not target:
        target = name
    return Column(name, kind, place, target)


#: legacy.dh_personas, all 59 columns, in table order.
DH_COLUMNS: tuple[Column, ...] = (
    _c("id", "int", "legacy_id", "dh_legacy_id"),
    _c("unique_id", "text", "key"),
    _c("name", "text", "shared"),
    _c("title", "text", "typed"),
    _c("description", "text", "shared"),
    _c("industry_id", "int", "industry"),
    _c("primary_role_id", "int", "role"),
    _c("pharma_id", "text", "industry", "pharma"),
    _c("digital_health_id", "text", "industry", "digital_health"),
    _c("biotech_id", "text", "industry", "biotech"),
    _c("seniority_level", "text", "shared"),
    _c("decision_authority", "text", "typed"),
    _c("responsibilities", "json", "json"),
    _c("pain_points", "json", "json"),
    _c("goals", "json", "json"),
    _c("persona_type", "text", "typed"),
    _c("tenant_id", "text", "typed"),
    _c("is_public", "bit", "typed"),
    _c("created_at", "datetime", "typed"),
    _c("updated_at", "datetime", "typed"),
    _c("created_by", "text", "typed"),
    _c("updated_by", "text", "typed"),
    _c("deleted_at", "datetime", "typed"),
    _c("age_range", "text", "profile"),
    _c("education_level", "text", "profile"),
    _c("years_experience", "int", "profile"),
    _c("company_size", "text", "profile"),
    _c("team_size", "int", "profile"),
    _c("reports_to", "text", "profile"),
    _c("budget_authority", "text", "profile"),
    _c("annual_budget_usd", "decimal", "profile"),
    _c("geography", "text", "profile"),
    _c("work_setting", "text", "profile"),
    _c("buying_role", "text", "profile"),
    _c("buying_stage", "text", "profile"),
    _c("motivations", "text", "profile"),
    _c("objections", "text", "profile"),
    _c("preferred_channels", "text", "profile"),
    _c("content_preferences", "text", "profile"),
    _c("communication_style", "text", "profile"),
    _c("tools_used", "text", "profile"),
    _c("kpis", "text", "profile"),
    _c("success_metrics", "text", "profile"),
    _c("information_sources", "text", "profile"),
    _c("regulatory_exposure", "text", "profile"),
    _c("therapeutic_areas", "text", "profile"),
    _c("patient_facing", "bit", "profile"),
    _c("clinical_background", "bit", "profile"),
    _c("technical_proficiency", "text", "profile"),
    _c("risk_tolerance", "text", "profile"),
    _c("innovation_adoption", "text", "profile"),
    _c("typical_day", "text", "profile"),
    _c("quote_text", "text", "profile"),
    _c("avatar_url", "text", "profile"),
    _c("linkedin_keywords", "text", "profile"),
    _c("source_system", "text", "profile"),
    _c("notes", "text", "profile"),
    _c("version_number", "int", "profile"),
    _c("is_active", "bit", "profile"),
)

#: legacy.org_personas, all 9 columns, in table order.
ORG_COLUMNS: tuple[Column, ...] = (
    _c("id", "int", "legacy_id", "org_legacy_id"),
    _c("unique_id", "text", "key"),
    _c("name", "text", "shared"),
    _c("industry_id", "int", "industry"),
    _c("primary_role_id", "int", "role"),
    _c("department_id", "int", "typed"),
    _c("function_id", "int", "typed"),
    _c("seniority_level", "text", "shared"),
    _c("description", "text", "shared"),
)

#: Column both sources have -> the source whose non-NULL value wins.
PRECEDENCE: dict[str, str] = {
    "name": "dh",
    "description": "dh",
    "seniority_level": "dh",
    "industry_id": "dh",
    "primary_role_id": "org",
}
PRECEDENCE_RULE = {
    "dh": "dh_personas wins for persona content (its NULL never overrides org's value)",
    "org": "org_personas wins for the organisational placement (its NULL never overrides dh's value)",
}
#: The industry code each industry-specific id column names, and the id Scout gives it when
#: legacy.industries has no such code (Scout's own ids start at 1,000,000).
SPECIFIC_INDUSTRIES = {"pharma": 1000002, "digital_health": 1000003, "biotech": 1000004}
SPECIFIC_INDUSTRY_NAMES = {"pharma": "Pharma", "digital_health": "Digital Health", "biotech": "Biotech"}

JSON_COLUMNS = tuple(c.name for c in DH_COLUMNS if c.place == "json")
PROFILE_COLUMNS = tuple(c for c in DH_COLUMNS if c.place == "profile")

assert len(DH_COLUMNS) == 59 and len({c.name for c in DH_COLUMNS}) == 59
assert set(PRECEDENCE) == {c.name for c in ORG_COLUMNS if c.place in ("shared", "industry", "role")}
