"""What `func start` locally and `azd deploy` to Azure need beside the code: a lean deploy package
(.funcignore), a local.settings.json template holding every setting a binding resolves, and the VS Code
files of the Azure Functions quickstarts."""

import ast
import json
import os
import re
import subprocess
from pathlib import Path

import pathspec
from pycep import BicepParser

from scout.config import SETTINGS_BY_NAME

ROOT = Path(__file__).resolve().parents[1]
FUNCIGNORE = (ROOT / ".funcignore").read_text()
EXAMPLE = ROOT / "local.settings.json.example"

#: What the Functions host in Azure runs: the app, the library, the migrations it reads at run time.
DEPLOYED_TOP_LEVEL = {"function_app.py", "host.json", "requirements.txt", "scout", "sql"}
NEVER_DEPLOYED = (
    "tests/",
    "bench/",
    "node_modules/",
    ".venv",
    ".scout/",
    "infra/",
    "scripts/",
    ".git/",
    ".vscode/",
    "docs/",
)
#: Paths a developer's tree holds that a fresh clone may not: the package must leave them out too.
LOCAL_ONLY_PATHS = (
    ".scout/scout.duckdb",
    ".scout/exports/flat.csv",
    ".scout/azurite/__azurite_db_queue__.json",
    "node_modules/azurite/package.json",
    "node_modules/.bin/azurite",
    "node_modules/.package-lock.json",
    ".venv/bin/python",
    ".venv/.gitignore",
    ".venv-checkov/bin/checkov",
    "local.settings.json",
    "scout/__pycache__/config.cpython-311.pyc",
    "__pycache__/function_app.cpython-311.pyc",
    "__azurite_db_blob__.json",
    "__blobstorage__/a",
    "scout_jobs.egg-info/PKG-INFO",
    ".pytest_cache/README.md",
    ".hypothesis/examples/x",
    "docs/notes.md",
)
#: Settings the Functions host itself reads, not scout/config.py.
HOST_SETTINGS = {"FUNCTIONS_WORKER_RUNTIME"}


# --- the deploy package ----------------------------------------------------------------------------


class CoreToolsIgnore:
    """Azure Functions Core Tools' GitIgnoreParser (a port of codemix/gitignore-parser), as
    `func azure functionapp publish` applies .funcignore: each pattern becomes a regex anchored at the
    root, ``**`` any text, ``*`` one path segment, followed by a word boundary; ``!`` lines re-admit."""

    def __init__(self, text: str):
        deny, admit = [], []
        for line in (raw.strip() for raw in text.split("\n")):
            if not line or line.startswith("#"):
                continue
            target = admit if line.startswith("!") else deny
            line = line.lstrip("!").removeprefix("/")
            target.append(
                re.sub(r"[-\[\]/{}()+?.\\^$|]", r"\\\g<0>", line).replace("**", "(.+)").replace("*", r"([^\/]+)")
            )
        self._deny, self._admit = (
            re.compile("^((" + ")|(".join(sorted(p)) + "))\\b", re.ASCII) if p else re.compile("$^")
            for p in (deny, admit)
        )

    def denies(self, path: str) -> bool:
        return bool(self._deny.search(path)) and not self._admit.search(path)


#: Core Tools drops these whatever .funcignore says (FileSystemHelpers.GetLocalFiles).
CORE_TOOLS_SKIPPED_DIRS = {".git", ".vscode"}
CORE_TOOLS_SKIPPED_FILES = {".funcignore", ".gitignore", "local.settings.json", "project.lock.json"}


def candidate_files() -> set[str]:
    """Every file a deploy could pick up: tracked files, files present (ignored folders not walked: no
    .funcignore line re-admits a path, see below), and the local-only files a developer's tree holds."""
    found = set(LOCAL_ONLY_PATHS)
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode == 0:
        found |= set(tracked.stdout.splitlines())
    spec = pathspec.GitIgnoreSpec.from_lines(FUNCIGNORE.splitlines())
    for folder, dirs, files in os.walk(ROOT):
        here = Path(folder).relative_to(ROOT).as_posix()
        prefix = "" if here == "." else here + "/"
        dirs[:] = [d for d in dirs if not spec.match_file(prefix + d + "/")]
        found |= {prefix + f for f in files}
    return found


def package_by_core_tools(files: set[str]) -> set[str]:
    parser = CoreToolsIgnore(FUNCIGNORE)
    return {
        f
        for f in files
        if not set(f.split("/")[:-1]) & CORE_TOOLS_SKIPPED_DIRS
        and f.split("/")[-1] not in CORE_TOOLS_SKIPPED_FILES
        and not parser.denies(f)
    }


def package_by_gitignore_rules(files: set[str]) -> set[str]:
    spec = pathspec.GitIgnoreSpec.from_lines(FUNCIGNORE.splitlines())
    return {f for f in files if not spec.match_file(f)}


def test_funcignore_has_no_negation_so_every_tool_reads_it_alike():
    lines = [line.strip() for line in FUNCIGNORE.splitlines() if line.strip() and not line.startswith("#")]
    assert lines and not [line for line in lines if line.startswith("!")]


def test_the_deploy_package_holds_the_app_scout_and_sql_and_nothing_else():
    files = candidate_files()
    by_core_tools, by_gitignore = package_by_core_tools(files), package_by_gitignore_rules(files)
    assert by_core_tools == by_gitignore, sorted(by_core_tools ^ by_gitignore)
    package = by_core_tools
    assert {f.split("/")[0] for f in package} == DEPLOYED_TOP_LEVEL
    tracked_app = {f for f in files if f.split("/")[0] in DEPLOYED_TOP_LEVEL and "__pycache__" not in f}
    assert tracked_app <= package, sorted(tracked_app - package)
    assert "sql/migrations" in {str(Path(f).parent) for f in package}
    leaked = sorted(f for f in package if f.startswith(NEVER_DEPLOYED) or "__pycache__" in f)
    assert leaked == []


def test_the_local_only_files_are_left_out_whichever_tool_packs():
    for path in LOCAL_ONLY_PATHS:
        assert CoreToolsIgnore(FUNCIGNORE).denies(path) or path == "local.settings.json", path
        assert pathspec.GitIgnoreSpec.from_lines(FUNCIGNORE.splitlines()).match_file(path), path


# --- local.settings.json.example -------------------------------------------------------------------


def binding_references() -> tuple[set[str], set[str]]:
    """(%NAME% settings, connection settings) the decorators in scout/functions/*.py hand the host."""
    percent, connections = set(), set()
    for source in sorted((ROOT / "scout" / "functions").glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for decorator in node.decorator_list:
                for keyword in getattr(decorator, "keywords", []):
                    value = keyword.value
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        percent |= set(re.findall(r"%([A-Za-z_][A-Za-z0-9_]*)%", value.value))
                        if keyword.arg == "connection":
                            connections.add(value.value)
    return percent, connections


def example_values() -> dict[str, str]:
    return json.loads(EXAMPLE.read_text())["Values"]


def bicep_app_settings() -> dict:
    parsed = BicepParser().parse(text=(ROOT / "infra" / "app" / "function.bicep").read_text())
    return parsed["resources"]["app__settings"]["config"]["properties"]


def test_the_bindings_use_the_schedules_and_the_app_storage():
    percent, connections = binding_references()
    assert {"SCOUT_MIGRATIONS_SCHEDULE", "SCOUT_EXPORT_SCHEDULE", "SCOUT_MONTECARLO_SCHEDULE"} <= percent
    assert connections == {"AzureWebJobsStorage"}


def test_every_setting_a_binding_resolves_is_in_the_example_and_in_the_bicep_app_settings():
    percent, connections = binding_references()
    values, azure = example_values(), bicep_app_settings()
    assert not percent - values.keys(), f"missing from local.settings.json.example: {sorted(percent - values.keys())}"
    assert not percent - azure.keys(), f"missing from infra/app/function.bicep: {sorted(percent - azure.keys())}"
    for connection in connections:
        assert connection in values  # locally: a connection string (Azurite)
        assert {f"{connection}__queueServiceUri", f"{connection}__credential"} <= azure.keys()  # Azure: identity


def test_the_example_runs_the_host_on_azurite_and_the_embedded_duckdb():
    document = json.loads(EXAMPLE.read_text())
    assert document["IsEncrypted"] is False
    values = document["Values"]
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    # `scout migrate apply` with no settings prepares the very file the host opens.
    assert values["SCOUT_DATABASE_URL"] == SETTINGS_BY_NAME["SCOUT_DATABASE_URL"].default
    assert values["SCOUT_DATABASE_URL"].startswith("duckdb:///")


def test_every_example_value_is_a_declared_setting_that_parses():
    for name, value in example_values().items():
        if name in HOST_SETTINGS:
            continue
        assert name in SETTINGS_BY_NAME, f"{name} is read by nothing (scout/config.py declares no such setting)"
        SETTINGS_BY_NAME[name].parse(value)
        if name.endswith("_SCHEDULE"):
            assert len(value.split()) == 6 and value == SETTINGS_BY_NAME[name].default, name


def test_the_example_holds_no_secret():
    text = EXAMPLE.read_text().lower()
    assert not [
        word
        for word in (
            "AccountKey",
            "SharedAccessKey",
            "SharedAccessSignature",
            "Password",
            "Pwd",
            "InstrumentationKey",
            "ClientSecret",
        )
        if word.lower() in text
    ]
    assert not [
        n
        for n in example_values()
        if SETTINGS_BY_NAME.get(n)
        and SETTINGS_BY_NAME[n].secret
        and example_values()[n] != "UseDevelopmentStorage=true"
    ]


def test_local_settings_json_stays_untracked_and_its_template_is_tracked():
    ignored = pathspec.GitIgnoreSpec.from_lines((ROOT / ".gitignore").read_text().splitlines())
    assert ignored.match_file("local.settings.json")
    assert not ignored.match_file("local.settings.json.example")
    assert not [p for p in (".funcignore", ".vscode/launch.json", ".vscode/tasks.json") if ignored.match_file(p)]


# --- VS Code, as the quickstarts ship it -----------------------------------------------------------


def test_vscode_debugs_the_host_after_starting_azurite_and_migrating():
    launch = json.loads((ROOT / ".vscode" / "launch.json").read_text())
    tasks = {t["label"]: t for t in json.loads((ROOT / ".vscode" / "tasks.json").read_text())["tasks"]}
    attach = launch["configurations"][0]
    assert attach["type"] == "debugpy" and attach["request"] == "attach" and attach["connect"]["port"] == 9091
    host = tasks[attach["preLaunchTask"]]
    assert host["type"] == "func" and host["command"] == "host start"
    assert host["dependsOrder"] == "sequence"
    assert set(host["dependsOn"]) <= tasks.keys()
    assert [tasks[d]["label"] for d in host["dependsOn"]] == [
        "azurite: start",
        "pip install (functions)",
        "scout: migrate apply",
    ]
    assert "npx azurite" in tasks["azurite: start"]["command"]
    assert "--location .scout/" in tasks["azurite: start"]["command"]  # its files stay out of git and the package
