"""infra/ deploys what the code needs and nothing else: templates parse, pass checkov's Azure checks,
define exactly the settings the code reads, and their queries name only events the code emits."""

import json
import re
import subprocess
from pathlib import Path

import pytest
from pycep import BicepParser

from scout.config import SETTINGS
from scout.monitoring.events import EVENTS, UndeclaredEvent, emit

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))

#: Settings the platform reads (the Functions host, Application Insights), not scout/config.py.
PLATFORM_SETTINGS = {"AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
                     "AzureWebJobsStorage__tableServiceUri", "APPLICATIONINSIGHTS_CONNECTION_STRING",
                     "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"}


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_every_bicep_file_parses(path):
    parsed = BicepParser().parse(text=path.read_text())
    assert parsed.get("resources") or parsed.get("modules")


def test_checkov_azure_checks_pass_with_every_suppression_reasoned():
    checkov = ROOT / ".venv-checkov" / "bin" / "checkov"
    assert checkov.exists(), "checkov is installed by scripts/test into .venv-checkov"
    done = subprocess.run([str(checkov), "-d", str(INFRA), "--framework", "bicep", "--quiet", "--compact",
                           "--skip-download", "-o", "json"], capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout)
    summary = report["summary"]
    failed = [(f["check_id"], f["file_path"], f["resource"]) for f in report["results"]["failed_checks"]]
    assert failed == [] and summary["parsing_errors"] == 0, failed
    for path in BICEP_FILES:
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                assert re.search(r"checkov:skip=[A-Z0-9_]+:\S.{10,}", line), f"suppression without a reason: {line.strip()}"


def _template_settings() -> set[str]:
    parsed = BicepParser().parse(text=(INFRA / "app" / "function.bicep").read_text())
    return set(parsed["resources"]["app__settings"]["config"]["properties"])


def test_the_templates_define_exactly_the_settings_the_code_reads():
    code = {s.name for s in SETTINGS if s.scope == "azure"} | PLATFORM_SETTINGS
    templates = _template_settings()
    assert not code - templates, f"read by the code, missing from infra/app/function.bicep: {sorted(code - templates)}"
    assert not templates - code, f"defined by the templates, read by nothing: {sorted(templates - code)}"


def test_local_only_settings_never_reach_azure():
    local = {s.name for s in SETTINGS if s.scope == "local"}
    assert "AzureWebJobsStorage" in local and not local & _template_settings()


def _queries() -> dict[str, str]:
    queries = {p.name: p.read_text() for p in (INFRA / "monitoring").glob("*.kql")}
    workbook = json.loads((INFRA / "monitoring" / "workbook.json").read_text())
    for item in workbook["items"]:
        if item["type"] == 3:
            queries[f"workbook: {item['content']['title']}"] = item["content"]["query"]
    return queries


def test_queries_name_only_declared_events_and_fields():
    assert len(_queries()) >= 9
    for name, query in _queries().items():
        events = set(re.findall(r'"(scout\.[a-z_.]+) "', query))
        assert events <= set(EVENTS), f"{name}: undeclared events {events - set(EVENTS)}"
        fields = set(re.findall(r"\bd\.([A-Za-z_]+)", query))
        declared = set().union(*(EVENTS[e] for e in events)) if events else set()  # platform tables only
        assert fields <= declared, f"{name}: undeclared fields {sorted(fields - declared)}"


def test_the_alerts_and_workbook_are_deployed_from_these_files():
    bicep = (INFRA / "monitoring" / "monitoring.bicep").read_text()
    for kql in (INFRA / "monitoring").glob("*.kql"):
        assert f"loadTextContent('{kql.name}')" in bicep
    assert "loadTextContent('workbook.json')" in bicep


def test_events_refuse_undeclared_names_and_fields(caplog):
    import logging

    caplog.set_level(logging.INFO, logger="scout.events")
    emit("scout.export.validated", run_id="r", base_transactions=1, export_rows=1, unique_ids=1, passed=True)
    assert caplog.records[-1].getMessage().startswith('scout.export.validated {"base_transactions": 1')
    with pytest.raises(UndeclaredEvent):
        emit("scout.nope")
    with pytest.raises(UndeclaredEvent):
        emit("scout.job.started", job="x", colour="red")


def test_a_job_run_logs_started_and_finished_events_the_alerts_can_parse(migrated, caplog):
    import logging

    from scout.migrations import job

    caplog.set_level(logging.INFO, logger="scout.events")
    job.apply(trigger="cli", settings=migrated)
    finished = [r.getMessage() for r in caplog.records if r.getMessage().startswith("scout.job.finished ")]
    payload = json.loads(finished[-1].split(" ", 1)[1])  # what parse_json(substring(...)) reads in KQL
    assert payload["job"] == "migrations.apply" and payload["outcome"] == "succeeded" and payload["duration_s"] >= 0


SECRET_PATTERNS = {
    "storage account key": re.compile(r"AccountKey=[A-Za-z0-9+/]{20,}"),
    "password assignment": re.compile(r"(?i)(pwd|password|passwd)\s*[=:]\s*['\"]?[^\s'\"{}$<]{6,}"),
    "client secret": re.compile(r"(?i)client_?secret\s*[=:]\s*['\"]?[A-Za-z0-9~._-]{16,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "SAS signature": re.compile(r"[?&]sig=[A-Za-z0-9%+/]{20,}"),
    "JWT": re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\."),
    "connection string password": re.compile(r"(?i)Password=[^;'\"\s]{4,};"),
}
# Azurite's documented development key is public and works only against the local emulator.
ALLOWED = {("tests/conftest.py", "storage account key")}


def test_a_secrets_scan_of_the_repository_finds_nothing():
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in files:
        path = ROOT / name
        if not path.is_file() or path.suffix in (".png", ".parquet", ".duckdb") or name == "package-lock.json":
            continue
        text = path.read_text(errors="ignore")
        for kind, pattern in SECRET_PATTERNS.items():
            if pattern.search(text) and (name, kind) not in ALLOWED:
                found.append((name, kind))
    assert found == []


GRANT_SCRIPT = INFRA / "sql" / "grant-app-identity.sql"


def _script_statements(path: Path) -> list[str]:
    """The statements of a sqlcmd script, comments dropped, whitespace folded."""
    code = "\n".join(line.split("--", 1)[0] for line in path.read_text().splitlines())
    return [" ".join(s.split()) for s in re.split(r";|^\s*GO\s*$", code, flags=re.M) if s.strip()]


def test_the_app_identity_is_granted_read_write_and_ddl_and_nothing_more():
    statements = _script_statements(GRANT_SCRIPT)
    roles = [m.group(1) for s in statements
             if (m := re.fullmatch(r"ALTER ROLE (\w+) ADD MEMBER \[\$\(APP_IDENTITY_NAME\)\]", s))]
    assert sorted(roles) == ["db_datareader", "db_datawriter", "db_ddladmin"]  # no db_owner
    rest = [s for s in statements if not s.startswith("ALTER ROLE ")]
    assert rest == [
        "IF DATABASE_PRINCIPAL_ID(N'$(APP_IDENTITY_NAME)') IS NULL "
        "CREATE USER [$(APP_IDENTITY_NAME)] FROM EXTERNAL PROVIDER",  # re-runnable
        "ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON",  # the export's SNAPSHOT transaction
    ]  # and no GRANT, no EXECUTE, no other ALTER DATABASE


def test_the_granted_roles_cover_every_statement_the_migrations_run():
    """db_ddladmin creates and drops schemas, tables, views and indexes; db_datareader/db_datawriter read
    and write rows. A migration needing more (a GRANT, a procedure to EXECUTE, ALTER DATABASE) must
    change the grant script too."""
    import sqlglot
    from sqlglot import exp

    from scout.migrations.files import discover

    migrations = discover()
    every = [*migrations.versioned, *migrations.undo.values(), *migrations.repeatable]
    covered = (exp.Create, exp.Drop, exp.Alter, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Select)
    kinds = set()
    for m in every:
        for batch in m.batches:
            for statement in sqlglot.parse(batch, read="tsql"):
                if statement is None:
                    continue
                assert isinstance(statement, covered), f"{m.script}: {statement.sql('tsql')[:80]}"
                if isinstance(statement, (exp.Create, exp.Drop)):
                    kinds.add(str(statement.args.get("kind")).upper())
    assert kinds <= {"SCHEMA", "TABLE", "VIEW", "INDEX"}, kinds


def test_the_snapshot_isolation_error_points_at_the_step_that_enables_it():
    from scout.db.mssql_backend import SNAPSHOT_HELP

    assert "ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON" in SNAPSHOT_HELP
    assert str(GRANT_SCRIPT.relative_to(ROOT)) in SNAPSHOT_HELP
    section = (ROOT / "README.md").read_text().split("## Azure SQL and credentials", 1)[1].split("\n## ", 1)[0]
    assert "grant-app-identity.sql" in section and "ALLOW_SNAPSHOT_ISOLATION" in section
