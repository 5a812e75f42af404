"""infra/ deploys what the code needs and nothing else: templates parse, pass checkov's Azure checks,
define exactly the settings the code reads, and deploy the alerts and workbook from their files."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from pycep import BicepParser

from scout.config import SETTINGS
from scout.monitoring.events import UndeclaredEvent, emit

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))

#: Settings the platform reads (the Functions host, Application Insights), not scout/config.py.
PLATFORM_SETTINGS = {
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "AzureWebJobsStorage__tableServiceUri",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_every_bicep_file_parses(path):
    parsed = BicepParser().parse(text=path.read_text())
    assert parsed.get("resources") or parsed.get("modules")


def test_checkov_azure_checks_pass_with_every_suppression_reasoned():
    checkov = ROOT / ".venv-checkov" / "bin" / "checkov"
    assert checkov.exists(), "checkov is installed by scripts/test into .venv-checkov"
    done = subprocess.run(
        [
            str(checkov),
            "-d",
            str(INFRA),
            "--framework",
            "bicep",
            "--quiet",
            "--compact",
            "--skip-download",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(done.stdout)
    summary = report["summary"]
    failed = [(f["check_id"], f["file_path"], f["resource"]) for f in report["results"]["failed_checks"]]
    assert failed == [] and summary["parsing_errors"] == 0, failed
    for path in BICEP_FILES:
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                assert re.search(r"checkov:skip=[A-Z0-9_]+:\S.{10,}", line), (
                    f"suppression without a reason: {line.strip()}"
                )


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


# The queries' events and customDimensions are checked against what the code emits in tests/test_telemetry.py.


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
    finished = [r for r in caplog.records if r.getMessage().startswith("scout.job.finished ")]
    payload = json.loads(finished[-1].getMessage().split(" ", 1)[1])  # the message text, for people reading logs
    assert payload["job"] == "migrations.apply" and payload["outcome"] == "succeeded" and payload["duration_s"] >= 0
    # the record's attributes: what OpenTelemetry sends as customDimensions, which the alerts read
    assert (finished[-1].event, finished[-1].job, finished[-1].outcome) == (
        "scout.job.finished",
        "migrations.apply",
        "succeeded",
    )


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
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
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
    roles = [
        m.group(1)
        for s in statements
        if (m := re.fullmatch(r"ALTER ROLE (\w+) ADD MEMBER \[\$\(APP_IDENTITY_NAME\)\]", s))
    ]
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


# --- azd postprovision hook, private networking (vnetEnabled), Azure SQL's firewall and administrator ---

HOOKS = INFRA / "hooks"
HOOK_INPUTS = ("SQL_SERVER_FQDN", "SQL_DATABASE_NAME", "APP_IDENTITY_NAME", "VNET_ENABLED")


def _bicep(relative: str) -> dict:
    return BicepParser().parse(text=(INFRA / relative).read_text())


def _evaluate(node, params: dict):
    """The value of a pycep-parsed expression once the template's parameters are bound (enough of Bicep for
    the conditions and ternaries these templates use); a name that is no parameter is a literal."""
    if isinstance(node, str):
        return params.get(node, node)
    if not isinstance(node, dict):
        return node
    if "function" in node and node["function"]["type"] == "empty":
        return not _evaluate(node["function"]["parameters"]["item_to_test"], params)
    op = node.get("operator", {})
    operands = op.get("operands", {})
    if op.get("type") == "conditional":
        chosen = "true_value" if _evaluate(operands["condition"], params) else "false_value"
        return _evaluate(operands[chosen], params)
    if op.get("type") == "not":
        return not _evaluate(operands["bool_value"], params)
    if op.get("type") == "and":
        return _evaluate(operands["operand_1"], params) and _evaluate(operands["operand_2"], params)
    return node


def _deployed(declaration: dict, params: dict) -> dict | None:
    """A resource's or module's config when it is deployed with these parameters, else None."""
    config = declaration["config"]
    if "condition" in config:
        return config["config"] if _evaluate(config["condition"], params) else None
    return config


def test_azd_runs_the_sql_grant_as_a_postprovision_hook_on_posix_and_windows():
    import yaml

    hook = yaml.safe_load((ROOT / "azure.yaml").read_text())["hooks"]["postprovision"]
    assert (hook["posix"]["shell"], hook["windows"]["shell"]) == ("sh", "pwsh")
    outputs = set(_bicep("main.bicep")["outputs"])
    for platform in ("posix", "windows"):
        script = ROOT / hook[platform]["run"]
        assert script.parent == HOOKS and script.is_file(), script
        text = script.read_text()
        assert "infra/sql/grant-app-identity.sql" in text and "sqlcmd" in text
        for name in HOOK_INPUTS:  # azd hands a hook the deployment's outputs as environment variables
            assert name in text and name in outputs, name
    assert os.access(HOOKS / "postprovision.sh", os.X_OK)


@pytest.fixture
def fake_sqlcmd(tmp_path):
    """sqlcmd on PATH that records its arguments (this machine cannot reach Azure SQL)."""
    calls = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "sqlcmd"
    tool.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{calls}"\n')
    tool.chmod(0o755)
    return bin_dir, calls


def _run_hook(bin_dir: Path, **outputs: str) -> subprocess.CompletedProcess:
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", **outputs}
    return subprocess.run(
        ["sh", str(HOOKS / "postprovision.sh")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )


def test_the_posix_hook_runs_the_grant_script_as_the_entra_administrator(fake_sqlcmd):
    bin_dir, calls = fake_sqlcmd
    done = _run_hook(
        bin_dir,
        SQL_SERVER_FQDN="sql-scout-x.database.windows.net",
        SQL_DATABASE_NAME="scout",
        APP_IDENTITY_NAME="id-scout-x",
        VNET_ENABLED="false",
    )
    assert done.returncode == 0, done.stderr
    assert calls.read_text().split("\n")[:-1] == [
        "-S",
        "sql-scout-x.database.windows.net",
        "-d",
        "scout",
        "-G",
        "-b",  # Entra sign-in; fail on a SQL error
        "-v",
        "APP_IDENTITY_NAME=id-scout-x",
        "-i",
        "infra/sql/grant-app-identity.sql",
    ]


def test_with_private_networking_the_hook_prints_the_command_to_run_from_the_vnet(fake_sqlcmd):
    bin_dir, calls = fake_sqlcmd
    done = _run_hook(
        bin_dir,
        SQL_SERVER_FQDN="sql-scout-x.database.windows.net",
        SQL_DATABASE_NAME="scout",
        APP_IDENTITY_NAME="id-scout-x",
        VNET_ENABLED="true",
    )
    assert done.returncode == 0 and not calls.exists()  # the server has no public endpoint to reach
    assert "-v APP_IDENTITY_NAME=id-scout-x -i infra/sql/grant-app-identity.sql" in done.stdout


def test_the_hook_outside_azd_fails_with_one_clear_line(fake_sqlcmd):
    done = _run_hook(fake_sqlcmd[0])
    assert done.returncode != 0 and "run by azd after provisioning" in done.stderr


def test_vnet_enabled_deploys_a_vnet_and_private_endpoints_for_storage_key_vault_and_sql():
    main = _bicep("main.bicep")
    assert main["parameters"]["vnetEnabled"]["type"] == "bool"
    assert main["parameters"]["vnetEnabled"]["default"] is False
    assert _deployed(main["modules"]["network"], {"vnetEnabled": False}) is None
    network = _deployed(main["modules"]["network"], {"vnetEnabled": True})
    assert network["params"]["storageAccountId"] != network["params"]["keyVaultId"] != network["params"]["sqlServerId"]
    subnet = main["modules"]["function"]["config"]["params"]["subnetId"]  # the app integrates with the VNet
    assert _evaluate(subnet, {"vnetEnabled": False}) == ""
    assert "appSubnetId" in str(_evaluate(subnet, {"vnetEnabled": True}))

    template = _bicep("core/network.bicep")
    subnets = {s["name"]: s["properties"] for s in template["resources"]["vnet"]["config"]["properties"]["subnets"]}
    assert set(subnets) == {"app", "endpoints"}
    assert [d["properties"]["serviceName"] for d in subnets["app"]["delegations"]] == ["Microsoft.App/environments"]
    endpoints = {
        m["config"]["params"]["groupId"]: m["config"]["params"]
        for m in template["modules"].values()
        if m["detail"]["path"] == "private-endpoint.bicep"
    }
    assert {"blob", "queue", "vault", "sqlServer"} <= set(endpoints)
    assert {endpoints[g]["serviceId"] for g in ("blob", "queue", "vault", "sqlServer")} == {
        "storageAccountId",
        "keyVaultId",
        "sqlServerId",
    }
    assert all(e["subnetId"] == "endpointSubnetId" for e in endpoints.values())
    endpoint = _bicep("core/private-endpoint.bicep")["resources"]
    assert endpoint["endpoint"]["type"] == "Microsoft.Network/privateEndpoints"
    assert endpoint["zoneGroup"]["type"] == "Microsoft.Network/privateEndpoints/privateDnsZoneGroups"


@pytest.mark.parametrize(
    "module,template,resource",
    [
        ("storage", "core/storage.bicep", "storage"),
        ("keyVault", "core/keyvault.bicep", "vault"),
        ("sql", "core/sql.bicep", "server"),
    ],
)
def test_vnet_enabled_turns_public_network_access_off(module, template, resource):
    assert _bicep("main.bicep")["modules"][module]["config"]["params"]["privateOnly"] == "vnetEnabled"
    properties = _bicep(template)["resources"][resource]["config"]["properties"]
    assert _evaluate(properties["publicNetworkAccess"], {"privateOnly": True}) == "Disabled"
    assert _evaluate(properties["publicNetworkAccess"], {"privateOnly": False}) == "Enabled"
    if "networkAcls" in properties:
        assert _evaluate(properties["networkAcls"]["defaultAction"], {"privateOnly": True}) == "Deny"


def _firewall(private_only: bool, client_ip: str = "") -> dict[str, tuple[str, str]]:
    resources = _bicep("core/sql.bicep")["resources"].values()
    params = {"privateOnly": private_only, "clientIpAddress": client_ip}
    rules = {}
    for r in resources:
        if r["type"] == "Microsoft.Sql/servers/firewallRules" and (config := _deployed(r, params)):
            p = config["properties"]
            rules[config["name"]] = (_evaluate(p["startIpAddress"], params), _evaluate(p["endIpAddress"], params))
    return rules


def test_azure_sql_firewall_allows_nothing_when_private_and_azure_plus_the_operator_otherwise():
    assert _firewall(private_only=True) == {}
    assert _firewall(private_only=True, client_ip="203.0.113.7") == {}
    assert _firewall(private_only=False) == {"AllowAzureServices": ("0.0.0.0", "0.0.0.0")}
    assert _firewall(private_only=False, client_ip="203.0.113.7") == {
        "AllowAzureServices": ("0.0.0.0", "0.0.0.0"),
        "AllowOperatorClient": ("203.0.113.7", "203.0.113.7"),
    }


def test_the_sql_administrator_may_be_a_user_or_a_group():
    main = _bicep("main.bicep")
    allowed = [
        d["argument"] for d in main["parameters"]["sqlAdminPrincipalType"]["decorators"] if d["type"] == "allowed"
    ]
    assert allowed == [["User", "Group"]]
    assert main["modules"]["sql"]["config"]["params"]["adminPrincipalType"] == "sqlAdminPrincipalType"
    sql = _bicep("core/sql.bicep")
    assert sql["resources"]["server"]["config"]["properties"]["administrators"]["principalType"] == "adminPrincipalType"
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert parameters["sqlAdminPrincipalType"]["value"] == "${SQL_ADMIN_PRINCIPAL_TYPE=User}"
    assert parameters["vnetEnabled"]["value"] == "${VNET_ENABLED=false}"


def test_no_suppression_claims_flex_consumption_has_no_vnet():
    """Flex Consumption supports VNet integration (vnetEnabled): a network check is suppressed only for the
    public mode, and the reason must say so."""
    for path in BICEP_FILES:
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                assert not re.search(r"(?i)no VNet|without a VNet", line), f"{path.name}: {line.strip()}"
