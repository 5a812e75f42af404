"""``scout demo seed --personas``: the two legacy persona tables and their reference tables, with the
hazards real legacy data has, deterministic for a seed.

182 dh personas with all 59 columns; org personas for about two thirds of them (same ``unique_id``, now
and then spelled in another case) plus some only org knows; personas in several industries (an
industry-specific id of another industry, org naming another industry); conflicting names,
seniorities and roles; NULL next to empty text; JSON that is not valid JSON, JSON with other
whitespace or key order, text with quotes, backslashes and line breaks; ids of industries and roles the
reference tables lack. Only the embedded DuckDB database is ever seeded (scout.demo.seed).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from scout.db.base import Database
from scout.demo.seed import require_embedded
from scout.errors import InvalidInput

DH_PERSONAS = 182
LEGACY_TABLES = (
    "legacy.org_personas",
    "legacy.dh_personas",
    "legacy.org_roles",
    "legacy.org_functions",
    "legacy.org_departments",
    "legacy.industries",
)
INDUSTRIES = [
    (1, "pharma", "Pharma"),
    (2, "digital_health", "Digital Health"),
    (3, "biotech", "Biotech"),
    (4, "medtech", "Medical Devices"),
    (5, "payer", "Payers"),
    (6, "provider", "Providers"),
]
DEPARTMENTS = [
    (1, "Commercial"),
    (2, "Medical Affairs"),
    (3, "R&D"),
    (4, "IT"),
    (5, "Market Access"),
    (6, "Operations"),
]
FUNCTIONS = [
    (1, "Marketing"),
    (2, "Sales"),
    (3, "Clinical"),
    (4, "Data & Analytics"),
    (5, "Regulatory"),
    (6, "Finance"),
]
ROLE_NAMES = [
    "Brand Manager", "Medical Science Liaison", "Chief Medical Officer", "Head of Digital", "Data Scientist",
    "Regulatory Affairs Lead", "Market Access Director", "Key Account Manager", "Clinical Operations Manager",
    "CIO", "Product Owner", "Health Economist", "VP Marketing", "Field Sales Rep", "Procurement Lead",
    "Nurse Practitioner", "Hospital Pharmacist", "Payer Account Director", "Biostatistician", "CFO",
]  # fmt: skip
SENIORITY = ["Junior", "Mid", "Senior", "Lead", "Director", "VP", "C-level"]
AUTHORITY = ["None", "Influencer", "Recommender", "Decision Maker", "Budget Holder"]
DANGLING_INDUSTRY = 99
DANGLING_ROLE = 999
WORDS = (
    "launch forecast payer access evidence adherence formulary pipeline trial data digital omnichannel "
    "compliance budget outcomes workflow integration burnout reimbursement biomarker"
).split()
MAX_PERSONAS = 5_000_000


def _phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def _json_list(rng: random.Random, i: int) -> str | None:
    """JSON text as legacy kept it: mostly compact, sometimes other whitespace or an object, sometimes
    not JSON at all (a trailing comma, single quotes, cut short), sometimes NULL or empty."""
    items = [_phrase(rng, rng.randint(2, 4)) for _ in range(rng.randint(1, 4))]
    pick = rng.random()
    if pick < 0.05:
        return None
    if pick < 0.07:
        return ""
    if pick < 0.12:
        return rng.choice([f"['{items[0]}']", json.dumps(items)[:-1] + ",]", json.dumps(items)[:-2], "n/a"])
    if pick < 0.3:
        return json.dumps(items, indent=rng.choice([1, 2]))
    if pick < 0.4:
        return json.dumps({"items": items, "owner": f"team {i % 7}", "weight": Decimal("1.50")}, default=str).replace(
            '"1.50"', "1.50"
        )
    return json.dumps(items, separators=(",", ":"))


def _text(rng: random.Random, value: str, null_share: float = 0.08, empty_share: float = 0.04) -> str | None:
    """NULL and empty text are different things in legacy data; both occur."""
    pick = rng.random()
    if pick < null_share:
        return None
    if pick < null_share + empty_share:
        return ""
    return value


def generate(personas: int = DH_PERSONAS, seed: int = 42) -> dict[str, list[dict[str, Any]]]:
    """Rows of every legacy table, deterministic for ``personas`` and ``seed``."""
    rng = random.Random(seed)
    base = datetime(2024, 1, 1)
    roles = [
        {"id": 100 + i, "name": name, "department_id": 1 + i % 6, "function_id": 1 + (i * 5) % 6}
        for i, name in enumerate(ROLE_NAMES)
    ]
    dh: list[dict[str, Any]] = []
    for i in range(1, personas + 1):
        industry = rng.choice(INDUSTRIES)[0] if rng.random() > 0.03 else rng.choice([None, DANGLING_INDUSTRY])
        role = rng.choice(roles)["id"] if rng.random() > 0.03 else rng.choice([None, DANGLING_ROLE])
        created = base + timedelta(days=rng.randint(0, 400), seconds=rng.randint(0, 86_399))
        name = f"{rng.choice(SENIORITY)} {rng.choice(ROLE_NAMES)} {i}"
        row: dict[str, Any] = {
            "id": i,
            "unique_id": f"dh-{i:06d}",
            "name": _text(rng, name, 0.01, 0.01),
            "title": _text(rng, rng.choice(ROLE_NAMES)),
            "description": _text(rng, f'{_phrase(rng, 6)}. Says "it depends" on {_phrase(rng, 2).lower()}'),
            "industry_id": industry,
            "primary_role_id": role,
            # multi-industry: the industry's own id, and now and then another industry's too
            "pharma_id": f"PH-{i:05d}" if industry == 1 or rng.random() < 0.15 else None,
            "digital_health_id": f"DGH-{i:05d}" if industry == 2 or rng.random() < 0.15 else None,
            "biotech_id": f"BT-{i:05d}" if industry == 3 or rng.random() < 0.1 else rng.choice([None, None, ""]),
            "seniority_level": _text(rng, rng.choice(SENIORITY)),
            "decision_authority": _text(rng, rng.choice(AUTHORITY)),
            "responsibilities": _json_list(rng, i),
            "pain_points": _json_list(rng, i),
            "goals": _json_list(rng, i),
            "persona_type": rng.choice(["b2b", "b2b", "hcp", None]),
            "tenant_id": rng.choice(["tenant-a", "tenant-b", None]),
            "is_public": rng.choice([True, False, None]),
            "created_at": created,
            "updated_at": created + timedelta(days=rng.randint(0, 60)) if rng.random() > 0.2 else None,
            "created_by": rng.choice(["import", "jane.doe", None]),
            "updated_by": rng.choice(["jane.doe", "sync", None, ""]),
            "deleted_at": created + timedelta(days=500) if rng.random() < 0.05 else None,
            "age_range": _text(rng, rng.choice(["25-34", "35-44", "45-54", "55-64"])),
            "education_level": _text(rng, rng.choice(["BSc", "MSc", "PhD", "MD", "PharmD", "MBA"])),
            "years_experience": rng.choice([None, rng.randint(1, 35)]),
            "company_size": _text(rng, rng.choice(["1-50", "51-500", "501-5000", "5000+"])),
            "team_size": rng.choice([None, 0, rng.randint(1, 200)]),
            "reports_to": _text(rng, rng.choice(ROLE_NAMES)),
            "budget_authority": _text(rng, rng.choice(["none", "shared", "full"])),
            "annual_budget_usd": None if rng.random() < 0.2 else Decimal(rng.randint(0, 5_000_000)) / 100,
            "geography": _text(rng, rng.choice(["US", "EU", "APAC", "Philippines", "Zürich"])),
            "work_setting": _text(rng, rng.choice(["hospital", "office", "remote", "field"])),
            "buying_role": _text(rng, rng.choice(["champion", "economic buyer", "user", "blocker"])),
            "buying_stage": _text(rng, rng.choice(["awareness", "consideration", "decision"])),
            "motivations": _text(rng, _phrase(rng, 5)),
            "objections": _text(rng, rng.choice([_phrase(rng, 4), 'Too "expensive"', "path C:\\shared\\old"])),
            "preferred_channels": _text(rng, rng.choice(["email|webinar", "linkedin", "congress|peer"])),
            "content_preferences": _text(rng, rng.choice(["case studies", "data sheets", "videos"])),
            "communication_style": _text(rng, rng.choice(["direct", "analytical", "relational"])),
            "tools_used": _text(rng, rng.choice(["Veeva|Salesforce", "Epic", "Excel", "Tableau|R"])),
            "kpis": _text(rng, _phrase(rng, 3)),
            "success_metrics": _text(rng, _phrase(rng, 3)),
            "information_sources": _text(rng, rng.choice(["PubMed", "peers", "KOLs", "trade press"])),
            "regulatory_exposure": _text(rng, rng.choice(["high", "medium", "low"])),
            "therapeutic_areas": _text(rng, rng.choice(["oncology", "cardiology|diabetes", "rare disease"])),
            "patient_facing": rng.choice([True, False, None]),
            "clinical_background": rng.choice([True, False, None]),
            "technical_proficiency": _text(rng, rng.choice(["low", "medium", "high"])),
            "risk_tolerance": _text(rng, rng.choice(["low", "medium", "high"])),
            "innovation_adoption": _text(rng, rng.choice(["laggard", "majority", "early adopter"])),
            "typical_day": _text(rng, rng.choice([_phrase(rng, 8), f"{_phrase(rng, 3)}\n{_phrase(rng, 3)}"])),
            "quote_text": _text(rng, f'"{_phrase(rng, 5)}"'),
            "avatar_url": _text(rng, f"https://example.org/avatars/{i}.png", 0.3),
            "linkedin_keywords": _text(rng, " ".join(rng.sample(WORDS, 3))),
            "source_system": rng.choice(["dh-v1", "dh-v2", None]),
            "notes": _text(rng, rng.choice(["", " trailing space ", "tab\there", _phrase(rng, 4)]), 0.3),
            "version_number": rng.choice([None, 1, 2, 3]),
            "is_active": rng.choice([True, True, False, None]),
        }
        dh.append(row)
    org: list[dict[str, Any]] = []
    org_id = 5000
    for row in dh:
        if rng.random() > 0.66:
            continue
        org_id += 1
        conflict = rng.random()
        uid = row["unique_id"].upper() if conflict < 0.03 else row["unique_id"]
        org.append(
            {
                "id": org_id,
                "unique_id": uid,
                "name": (
                    row["name"]
                    if conflict > 0.2
                    else rng.choice([None, "", (row["name"] or "x").upper(), f"{row['name']} ", "Renamed persona"])
                ),
                # org names another industry now and then: the persona belongs to both
                "industry_id": row["industry_id"] if rng.random() > 0.2 else rng.choice(INDUSTRIES)[0],
                "primary_role_id": row["primary_role_id"] if rng.random() > 0.25 else rng.choice(roles)["id"],
                "department_id": rng.choice(DEPARTMENTS)[0] if rng.random() > 0.1 else None,
                "function_id": rng.choice(FUNCTIONS)[0] if rng.random() > 0.1 else None,
                "seniority_level": row["seniority_level"] if rng.random() > 0.2 else rng.choice([*SENIORITY, "", None]),
                "description": row["description"] if rng.random() > 0.3 else _text(rng, _phrase(rng, 5)),
            }
        )
    for j in range(1, max(2, personas // 9) + 1):  # personas only the org chart knows
        org_id += 1
        org.append(
            {
                "id": org_id,
                "unique_id": f"org-{j:06d}",
                "name": f"{rng.choice(ROLE_NAMES)} (org) {j}",
                "industry_id": rng.choice(INDUSTRIES)[0],
                "primary_role_id": rng.choice(roles)["id"],
                "department_id": rng.choice(DEPARTMENTS)[0],
                "function_id": rng.choice(FUNCTIONS)[0],
                "seniority_level": _text(rng, rng.choice(SENIORITY)),
                "description": _text(rng, _phrase(rng, 5)),
            }
        )
    return {
        "legacy.industries": [{"id": i, "code": c, "name": n} for i, c, n in INDUSTRIES],
        "legacy.org_departments": [{"id": i, "name": n} for i, n in DEPARTMENTS],
        "legacy.org_functions": [{"id": i, "name": n} for i, n in FUNCTIONS],
        "legacy.org_roles": roles,
        "legacy.dh_personas": dh,
        "legacy.org_personas": org,
    }


#: The campaign tool's sources and authored data, deleted children first (targets derive from persons).
TARGETING_TABLES = (
    "registry.targets",
    "registry.engagements",
    "registry.campaigns",
    "registry.persona_strategies",
    "registry.persona_match_rules",
    "registry.campaign_strategies",
    "registry.connectors",
    "registry.persons",
    "registry.companies",
)
STRATEGIES = [
    ("Thought leadership", "linkedin", ["insights", "trends"], "3 per week"),
    ("Peer case studies", "email", ["outcomes", "evidence"], "2 per month"),
    ("Webinar series", "webinar", ["education", "qa"], "1 per month"),
    ("Congress presence", "events", ["data", "launch"], "per congress"),
    ("Account-based outreach", "sales", ["roi", "workflow"], "weekly"),
    ("Medical education", "email", ["science", "guidelines"], "1 per month"),
    ("Community building", "linkedin", ["peers", "stories"], "daily"),
    ("Retargeting ads", "ads", ["offers", "reminders"], "always on"),
]
COMPANY_SIZES: dict[str, tuple[int | None, int | None]] = {
    "1-50": (1, 50),
    "51-500": (51, 500),
    "501-5000": (501, 5000),
    "5000+": (5001, None),
}
TITLE_NOISE = ["", "Senior ", "Global ", "Associate ", "Regional "]
NEAR_MISSES = ["Brand Management Intern", "Digitalization Consultant", "Data Science Student", "Ex-CFO Advisor"]
AS_OF = datetime(2025, 6, 30)


def generate_targeting(
    dh_rows: list[dict[str, Any]], persons: int = 2_000, seed: int = 42, first_person_id: int = 1
) -> dict[str, list[dict[str, Any]]]:
    """Companies, persons and engagements (the campaign tool's sources), strategies with relevance per
    persona, campaigns, matching rules for personas of ``dh_rows``, and connectors that name Key Vault
    secrets. Deterministic for the arguments."""
    rng = random.Random(seed * 7919 + 1)
    companies = []
    for i in range(1, 201):
        size = rng.choice(list(COMPANY_SIZES.values()))
        companies.append(
            {
                "company_id": i,
                "name": f"{rng.choice(['Acme', 'Helix', 'Nova', 'Medi', 'Vita'])} {rng.choice(['Labs', 'Health', 'Pharma', 'Bio'])} {i}",
                "industry_id": rng.choice(INDUSTRIES)[0] if rng.random() > 0.05 else None,
                "employee_count": rng.randint(size[0] or 1, size[1] or 50_000) if rng.random() > 0.05 else None,
                "domain_name": f"company{i}.example",
            }
        )
    people: list[dict[str, Any]] = []
    engagements: list[dict[str, Any]] = []
    engagement_id = first_person_id * 10
    for n in range(persons):
        pid = first_person_id + n
        title = (
            rng.choice(NEAR_MISSES)
            if rng.random() < 0.08
            else f"{rng.choice(TITLE_NOISE)}{rng.choice(ROLE_NAMES)}{rng.choice(['', ', EMEA', ' (Oncology)'])}"
        )
        people.append(
            {
                "person_id": pid,
                "full_name": f"Person {pid}",
                "title": title if rng.random() > 0.03 else None,
                "company_id": rng.randint(1, 200) if rng.random() > 0.05 else None,
                "created_at": AS_OF - timedelta(days=rng.randint(0, 30)),
            }
        )
        for _ in range(rng.choice([0, 0, 1, 2, 3, 5, 8])):
            engagement_id += 1
            engagements.append(
                {
                    "engagement_id": engagement_id,
                    "person_id": pid,
                    "campaign_id": None,
                    "kind": rng.choice(["view", "like", "comment", "click", "reply"]),
                    "occurred_at": AS_OF - timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 1440)),
                }
            )
    rules = []
    for i, row in enumerate(dh_rows[:60], start=1):
        role = row["title"] or rng.choice(ROLE_NAMES)
        bounds = COMPANY_SIZES.get(row["company_size"] or "", (None, None))
        rules.append(
            {
                "rule_id": i,
                "persona_unique_id": row["unique_id"],
                "title_terms": role.lower() if i % 5 else f"{role.lower()}|{role.lower().split()[-1]}s",
                "industry_id": row["industry_id"] if row["industry_id"] != DANGLING_INDUSTRY else None,
                "min_employees": bounds[0],
                "max_employees": bounds[1],
                "min_engagements": rng.choice([None, 1, 2, 3]),
                "recency_days": rng.choice([None, 30, 60, 90]),
                "priority": rng.randint(1, 3),
                "is_active": i % 17 != 0,
            }
        )
    strategies = [
        {
            "strategy_id": f"00000000-0000-4000-8000-{k:012d}",
            "name": name,
            "channel": channel,
            "content_themes": json.dumps(themes),
            "posting_frequency": frequency,
            "success_metrics": json.dumps({"engagement_rate": 0.05}),
            "budget_min_usd": Decimal(1000 * k),
            "budget_max_usd": Decimal(5000 * k),
            "is_active": True,
        }
        for k, (name, channel, themes, frequency) in enumerate(STRATEGIES, start=1)
    ]
    relevance = [
        {
            "persona_unique_id": row["unique_id"],
            "strategy_id": s["strategy_id"],
            "relevance_score": Decimal(rng.randint(0, 10_000)) / 10_000,
            "rationale": f"{s['channel']} fits {row['seniority_level'] or 'this seniority'}",
        }
        for row in dh_rows[:60]
        for s in rng.sample(strategies, 4)
    ]
    campaigns = [
        {
            "campaign_id": f"10000000-0000-4000-8000-{k:012d}",
            "name": f"Campaign {k}",
            "strategy_id": rng.choice(strategies)["strategy_id"],
            "persona_unique_id": rng.choice(dh_rows[:60])["unique_id"] if dh_rows else None,
            "started_at": AS_OF - timedelta(days=rng.randint(30, 90)),
            "budget_usd": Decimal(rng.randint(1, 50) * 1000),
        }
        for k in range(1, 13)
    ]
    for e in engagements:  # most engagements answer a campaign
        if rng.random() < 0.6:
            e["campaign_id"] = rng.choice(campaigns)["campaign_id"]
    connectors = [
        {
            "connector_id": "20000000-0000-4000-8000-000000000001",
            "kind": "linkedin",
            "display_name": "LinkedIn API",
            "secret_name": "linkedin-api-key",
            "calls_per_day": 500,
            "is_active": True,
        },
        {
            "connector_id": "20000000-0000-4000-8000-000000000002",
            "kind": "linkedin-cookie",
            "display_name": "LinkedIn session for enrichment",
            "secret_name": "linkedin-session-cookie",
            "calls_per_day": 200,
            "is_active": True,
        },
    ]
    return {
        "registry.companies": companies,
        "registry.persons": people,
        "registry.connectors": connectors,
        "registry.campaign_strategies": strategies,
        "registry.persona_match_rules": rules,
        "registry.persona_strategies": relevance,
        "registry.campaigns": campaigns,
        "registry.engagements": engagements,
    }


def legacy_row_count(db: Database) -> int:
    return sum(
        int(db.query(f"SELECT COUNT(*) FROM {table}")[0][0])
        for table in ("legacy.dh_personas", "legacy.org_personas", "registry.persons")
    )


def insert_rows(db: Database, table: str, rows: list[dict[str, Any]]) -> int:
    """Insert rows (portable SQL, ``?`` parameters); the callers check which database it is."""
    if not rows:
        return 0
    columns = list(rows[0])
    marks = ", ".join("?" for _ in columns)
    db.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", [tuple(r[c] for c in columns) for r in rows]
    )
    return len(rows)


def insert_generated(db: Database, data: dict[str, list[dict[str, Any]]], *, replace: bool = False) -> dict[str, int]:
    """Write what ``generate`` made, in one transaction (``replace``: the tables emptied first)."""
    counts = {}
    if replace:  # children first, each in its own transaction: DuckDB checks a foreign key against rows
        for table in (*TARGETING_TABLES, *LEGACY_TABLES):  # deleted earlier in the same transaction
            with db.transaction():
                db.execute(f"DELETE FROM {table}")
    with db.transaction():
        for table in (*reversed(LEGACY_TABLES), *(t for t in reversed(TARGETING_TABLES) if t in data)):
            counts[table] = insert_rows(db, table, data[table])
    return counts


def seed_personas(
    db: Database, *, personas: int = DH_PERSONAS, seed: int = 42, replace: bool = False
) -> dict[str, Any]:
    """Fill the legacy persona tables (empty, or emptied with ``replace``) in one transaction."""
    require_embedded(db)
    if isinstance(personas, bool) or not isinstance(personas, int) or not 1 <= personas <= MAX_PERSONAS:
        raise InvalidInput(f"personas must be a whole number from 1 to {MAX_PERSONAS:,}")
    if not db.table_exists("legacy", "dh_personas"):
        raise InvalidInput(f"{db.display_name} has no legacy persona tables: run scout migrate apply first")
    existing = legacy_row_count(db)
    if existing and not replace:
        raise InvalidInput(f"the legacy persona tables already hold {existing:,} rows: use --replace to start over")
    data = generate(personas, seed)
    data.update(generate_targeting(data["legacy.dh_personas"], seed=seed))
    counts = insert_generated(db, data, replace=replace)
    return {"personas": personas, "seed": seed, "rows": counts}


def seed_job(
    *,
    trigger: str,
    personas: int = DH_PERSONAS,
    seed: int = 42,
    replace: bool = False,
    settings: Any = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Recorded job ``demo.seed_personas``; only the embedded database is seeded (checked on the URL,
    before connecting), and bad input is refused before the run is recorded."""
    from scout.config import Settings
    from scout.db import connect, parse_database_url
    from scout.demo.seed import EMBEDDED_ONLY, MAX_SEED
    from scout.jobs.runs import JobContext, run_job

    settings = settings or Settings.from_env()
    scheme, server, _ = parse_database_url(settings.database_url)
    if scheme != "duckdb":
        raise InvalidInput(EMBEDDED_ONLY.format(what=f"{scheme}://{server}"))
    if isinstance(personas, bool) or not isinstance(personas, int) or not 1 <= personas <= MAX_PERSONAS:
        raise InvalidInput(f"--personas-count must be a whole number from 1 to {MAX_PERSONAS:,}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidInput(f"--seed must be a whole number from 0 to {MAX_SEED:,} (2**63 - 1)")
    with connect(settings) as db:
        if not db.table_exists("legacy", "dh_personas"):
            raise InvalidInput(f"{db.display_name} has no legacy persona tables: run scout migrate apply first")
        existing = legacy_row_count(db)
        if existing and not replace:
            raise InvalidInput(f"the legacy persona tables already hold {existing:,} rows: use --replace to start over")

        def body(ctx: JobContext) -> dict[str, Any]:
            return seed_personas(ctx.db, personas=personas, seed=seed, replace=replace)

        return run_job("demo.seed_personas", trigger, body, settings=settings, progress=progress, db=db)
