"""Job events reach Application Insights with their fields as customDimensions (OpenTelemetry), and the alerts
and the workbook read exactly those names, over a time range long enough for their conditions to hold."""

import json
import logging
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from opentelemetry.instrumentation.logging.handler import LoggingHandler  # the one configure_azure_monitor adds
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from scout.monitoring import telemetry
from scout.monitoring.events import EVENTS, emit

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "infra" / "monitoring"
ALERTS = {p.name: p.read_text() for p in sorted(MONITORING.glob("alert-*.kql"))}
WORKBOOK = json.loads((MONITORING / "workbook.json").read_text())
WORKBOOK_QUERIES = {
    f"workbook: {i['content']['title']}": i["content"]["query"] for i in WORKBOOK["items"] if i["type"] == 3
}


@pytest.fixture
def exported(monkeypatch):
    """What Application Insights would receive: the OpenTelemetry handler configure_azure_monitor puts on the
    ``scout`` logger, exporting to memory instead of the network."""
    monkeypatch.setattr(telemetry, "_attempted", True)  # the handler below stands in for configure_azure_monitor
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    handler = LoggingHandler(logger_provider=provider)
    logger = logging.getLogger(telemetry.LOGGER_NAME)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [r.log_record for r in exporter.get_finished_logs()]
    logger.removeHandler(handler)
    logger.setLevel(level)


def _every_field(event: str) -> dict:
    return {field: f"{field}-value" for field in EVENTS[event]}


def test_an_event_arrives_with_each_field_as_a_custom_dimension(exported):
    emit(
        "scout.job.finished",
        job="montecarlo.run",
        run_id="r-1",
        trigger="queue",
        outcome="failed",
        error="boom",
        duration_s=2.5,
        dry_run=False,
        skipped=None,
    )
    [record] = exported()
    assert record.body.startswith("scout.job.finished {")
    attributes = dict(record.attributes)
    assert {
        k: attributes[k] for k in ("event", "job", "run_id", "trigger", "outcome", "error", "duration_s", "dry_run")
    } == {
        "event": "scout.job.finished",
        "job": "montecarlo.run",
        "run_id": "r-1",
        "trigger": "queue",
        "outcome": "failed",
        "error": "boom",
        "duration_s": 2.5,
        "dry_run": False,
    }
    assert "skipped" not in attributes  # None is left out, not sent as the text "None"


def test_a_real_job_run_emits_started_and_finished_with_their_dimensions(exported, migrated):
    from scout.migrations import job

    job.apply(trigger="cli", settings=migrated)
    by_event = {dict(r.attributes)["event"]: dict(r.attributes) for r in exported()}
    assert by_event["scout.job.started"]["job"] == "migrations.apply"
    finished = by_event["scout.job.finished"]
    assert finished["outcome"] == "succeeded" and finished["duration_s"] >= 0 and finished["trigger"] == "cli"


def _events_named(query: str) -> set[str]:
    return set(re.findall(r'customDimensions\.event\)\s*==\s*"([^"]+)"', query))


@pytest.mark.parametrize("name, query", {**ALERTS, **WORKBOOK_QUERIES}.items())
def test_queries_read_only_the_custom_dimensions_the_named_events_carry(name, query, exported):
    assert "parse_json" not in query and "message" not in query, "fields are customDimensions, not message text"
    if "traces" not in query:
        return  # platform tables only (requests)
    events = _events_named(query)
    assert events and events <= set(EVENTS), f"{name}: names no declared event ({events - set(EVENTS)})"
    for event in events:  # what the code emits, as Application Insights receives it
        emit(event, **_every_field(event))
    emitted = set().union(*(dict(r.attributes) for r in exported()))
    read = set(re.findall(r"customDimensions\.([A-Za-z_]+)", query))
    assert read <= emitted, f"{name}: reads {sorted(read - emitted)}, which none of {sorted(events)} carries"


_KQL_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def _kql_timespan(text: str) -> timedelta:
    number, unit = re.fullmatch(r"(\d+)([dhms])", text).groups()
    return timedelta(**{_KQL_UNITS[unit]: int(number)})


def _iso_duration(text: str) -> timedelta:
    days, hours, minutes = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", text).groups()
    return timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0))


def _alert_rules() -> dict[str, dict[str, str]]:
    bicep = (MONITORING / "monitoring.bicep").read_text()
    rules = {}
    for line in re.findall(r"^\s*\{ name: .*loadTextContent\('alert-[^']+\.kql'\).*\}$", bicep, re.M):
        fields = dict(re.findall(r"(\w+): '([^']*)'", line))
        fields["kql"] = re.search(r"loadTextContent\('([^']+)'\)", line).group(1)
        rules[fields["kql"]] = fields
    return rules


def test_every_alert_is_a_rule_with_its_own_window_and_frequency():
    bicep = (MONITORING / "monitoring.bicep").read_text()
    assert set(_alert_rules()) == set(ALERTS)
    assert "windowSize: alert.window" in bicep and "evaluationFrequency: alert.frequency" in bicep


@pytest.mark.parametrize("kql", sorted(ALERTS))
def test_each_alert_window_covers_its_look_back(kql):
    rule, query = _alert_rules()[kql], ALERTS[kql]
    window, frequency = _iso_duration(rule["window"]), _iso_duration(rule["frequency"])
    assert frequency <= window, f"{kql}: runs every {frequency} over {window}: events between runs are missed"
    look_backs = [_kql_timespan(t) for t in re.findall(r"ago\((\w+)\)", query)]
    assert look_backs, f"{kql}: set the query's time range explicitly with ago()"
    assert max(look_backs) <= window, f"{kql}: looks back {max(look_backs)} but the rule only sees {window}"
    # "older than X" conditions need rows older than X inside the window, or the alert can never fire
    for older_than in re.findall(r"<\s*ago\((\w+)\)", query):
        assert _kql_timespan(older_than) < window, f"{kql}: nothing older than {older_than} is ever in {window}"


def test_the_stuck_run_alert_sees_runs_older_than_two_hours():
    rule = _alert_rules()["alert-montecarlo-stuck.kql"]
    assert "< ago(2h)" in ALERTS["alert-montecarlo-stuck.kql"]
    assert _iso_duration(rule["window"]) > timedelta(hours=2)


def test_the_workbook_has_a_time_range_every_query_uses():
    parameters = [p for i in WORKBOOK["items"] if i["type"] == 9 for p in i["content"]["parameters"]]
    time_range = [p["name"] for p in parameters if p["type"] == 4]  # 4: time range picker
    assert time_range == ["TimeRange"]
    assert len(WORKBOOK_QUERIES) >= 5
    for item in (i for i in WORKBOOK["items"] if i["type"] == 3):
        assert "{TimeRange}" in item["content"]["query"], item["content"]["title"]
        assert item["content"]["timeContextFromParameter"] == "TimeRange"


def test_host_json_uses_opentelemetry_and_only_log_categories_that_exist():
    host = json.loads((ROOT / "host.json").read_text())
    assert host["telemetryMode"] == "OpenTelemetry"
    # the app's function names, indexed in a fresh interpreter (as the host does; other tests import it too)
    listing = "import json, function_app; print(json.dumps([f.get_function_name() for f in function_app.app.get_functions()]))"
    done = subprocess.run([sys.executable, "-c", listing], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    functions = set(json.loads(done.stdout))
    existing = {
        "default",
        "Function",
        "Host",
        "Host.Results",
        "Host.Aggregator",
        "Host.Executor",
        "Host.Startup",
        "Host.General",
        "Host.Triggers",
        "Microsoft",
        "Worker",
    }
    existing |= {f"Function.{name}" for name in functions} | {f"Function.{name}.User" for name in functions}
    categories = set(host["logging"]["logLevel"])
    assert categories <= existing, f"no such log category: {sorted(categories - existing)}"
    assert {"Function", "Host.Results"} <= categories  # user logs and invocation results reach the portal


def test_telemetry_is_configured_once_and_only_with_a_connection_string(monkeypatch):
    import azure.monitor.opentelemetry as distro

    scout_logger = logging.getLogger("scout")
    monkeypatch.setattr(scout_logger, "propagate", True)
    calls = []
    monkeypatch.setattr(distro, "configure_azure_monitor", lambda **kw: calls.append(kw))
    monkeypatch.setattr(telemetry, "_attempted", False)
    monkeypatch.setattr(telemetry, "_configured", False)
    assert telemetry.configure_telemetry({}) is False and calls == []
    environ = {telemetry.CONNECTION_STRING: "InstrumentationKey=00000000-0000-0000-0000-000000000000"}
    assert telemetry.configure_telemetry(environ) is True
    assert telemetry.configure_telemetry(environ) is True
    [kwargs] = calls
    assert kwargs["logger_name"] == "scout" and kwargs["connection_string"] == environ[telemetry.CONNECTION_STRING]
    assert kwargs["credential"] is not None  # local auth is off: the app's identity publishes
    # each event reaches Application Insights once: through the exporter, not also the worker's root forwarding
    assert scout_logger.propagate is False


def test_without_a_connection_string_the_app_never_imports_the_exporter():
    code = (
        "import sys; sys.path.insert(0, %r); import function_app; from scout.monitoring.events import emit; "
        "emit('scout.job.started', job='j', run_id='r', trigger='cli'); "
        "print(any(m.startswith(('azure.monitor', 'opentelemetry')) for m in sys.modules))"
    ) % str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"}, cwd="/"
    )
    assert out.stdout.strip() == "False"
