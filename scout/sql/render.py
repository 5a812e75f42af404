"""``scout sql render``: every statement the app can send, one file per statement, for a DBA to review.

- ``migrations/<script>.batch<n>.sql``: each batch of each migration file (versioned, undo, repeatable),
  taken from the files as the runner splits them.
- ``runtime/<module>.<function>.<n>.sql``: each distinct statement job code sends, named after the code
  that sends it, with its ``?`` markers. They are captured (``scout.sql.capture``) while the real jobs
  run with representative arguments on a scratch DuckDB file in a temporary folder (no Azure): migrate,
  then a small deterministic demo seed (not recorded: it runs on the embedded DuckDB only), persona
  inference (incremental and full, the statement compiled from the seeded rules), a queued job, the flat
  export in Transaction_ID ranges and with a limit, a local Monte Carlo run, results sessions whose runs
  go through the queued-batch path (one completed, one poisoned, one left processing), the
  standing-scenario refresh, and the job-run history.
  During the run the DuckDB connection answers ``dialect`` as Azure SQL does (``"tsql"``), so every job
  takes the branch production takes (e.g. ROW_NUMBER range points instead of DuckDB's ``rowid``, no
  DuckDB session settings); DuckDB runs the translation of each statement. Queue messages go to an
  in-memory queue that render then delivers to the queue-triggered job functions. The export's range
  size is lowered so that a small seed gives several ranges, as production's millions do.
- ``backend/<name>.sql`` (mssql only): the Azure SQL backend's own statements
  (``scout.db.mssql_backend.BACKEND_STATEMENTS``: locks, isolation, ...).

``--engine duckdb`` writes the DuckDB translation (``scout.db.translate``) of the same statements.
Each file starts with ``-- sent by <module.function>``; the output is the same, byte for byte, every time.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scout.errors import InvalidInput, first_line
from scout.sql.capture import StatementRecorder, recording

ENGINES = ("mssql", "duckdb")
KINDS = ("migrations", "runtime", "backend")
#: The runner function that sends each migration batch (``scout.migrations.runner``).
MIGRATION_SENDER = "scout.migrations.runner._run_migration"
BACKEND_MODULE = "scout.db.mssql_backend"

#: Representative arguments: small enough to render in seconds, big enough for every path to run.
SEED_TRANSACTIONS = 1000
SEED = 7
RANGE_TRANSACTIONS = 400  # export range size while rendering: 1,000 transactions give three ranges
EXPORT_LIMIT = 100
SIMULATION = {"iterations": 20_000, "horizon_days": 7, "batches": 2, "seed": 11}  # two batches to fan in


@dataclass(frozen=True)
class Statement:
    kind: str  # migrations | runtime | backend
    path: str  # file name under the output folder, e.g. runtime/scout.jobs.runs.record_start.1.sql
    sender: str  # module.function that sends it
    tsql: str  # as sent to Azure SQL (a migration batch may hold several statements)
    note: str = ""  # second comment line (which file and batch, which backend statement)


# -- migrations ---------------------------------------------------------------------------------------


def migration_statements(directory: str | os.PathLike[str] | None = None) -> list[Statement]:
    """Every batch of every migration file, as the runner sends it."""
    from scout.migrations.files import discover

    found = discover(directory)
    migrations = [*found.versioned, *sorted(found.undo.values(), key=lambda m: m.version_key), *found.repeatable]
    out = []
    for m in migrations:
        stem = m.script[: -len(".sql")]
        for number, batch in enumerate(m.batches, start=1):
            out.append(
                Statement(
                    "migrations",
                    f"migrations/{stem}.batch{number}.sql",
                    MIGRATION_SENDER,
                    batch,
                    f"{m.script}, batch {number} of {len(m.batches)}",
                )
            )
    return out


# -- the Azure SQL backend's own statements -----------------------------------------------------------


def backend_statements() -> list[Statement]:
    """``BACKEND_STATEMENTS`` of the Azure SQL backend (none while the backend does not declare them), each
    named after the backend code that sends it."""
    import importlib

    module = importlib.import_module(BACKEND_MODULE)
    declared = getattr(module, "BACKEND_STATEMENTS", None) or {}
    senders = _backend_senders(module)
    return [
        Statement(
            "backend",
            f"backend/{name}.sql",
            ", ".join(senders.get(name, [BACKEND_MODULE])),
            tsql,
            f"BACKEND_STATEMENTS[{name!r}]",
        )
        for name, tsql in sorted(declared.items())
    ]


def _backend_senders(module: Any) -> dict[str, list[str]]:
    """Statement name -> ``module.Class.method`` of each function that reads ``BACKEND_STATEMENTS[name]``."""
    import ast
    import inspect

    found: dict[str, list[str]] = {}

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            scope = (*scope, node.name)
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "BACKEND_STATEMENTS"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
            and scope
        ):
            sender = ".".join((module.__name__, *scope))
            if sender not in found.setdefault(node.slice.value, []):
                found[node.slice.value].append(sender)
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(ast.parse(inspect.getsource(module)), ())
    return found


# -- runtime statements ---------------------------------------------------------------------------------


class MemoryQueue:
    """Stands in for an Azure Storage queue while rendering: keeps the messages for render to deliver."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def send_message(self, content: str, **_: Any) -> None:
        self.messages.append(content)

    def take(self) -> list[str]:
        taken, self.messages = self.messages, []
        return taken


class RenderFailed(RuntimeError):
    """A job failed while render ran it: the statements would be incomplete, so nothing is written."""


@contextmanager
def _swapped(owner: Any, name: str, value: Any) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextmanager
def _production_shaped(range_transactions: int) -> Iterator[dict[str, MemoryQueue]]:
    """While rendering (in this process): DuckDB answers ``dialect`` as Azure SQL, queues are in memory,
    export ranges are small."""
    import scout.storage
    from scout.db.duckdb_backend import DuckDBDatabase
    from scout.exports import ranges

    queues: dict[str, MemoryQueue] = {}

    def queue_client(_settings: Any, name: str, **_: Any) -> MemoryQueue:
        return queues.setdefault(name, MemoryQueue())

    with (
        _swapped(DuckDBDatabase, "dialect", "tsql"),
        _swapped(scout.storage, "queue_client", queue_client),
        _swapped(ranges, "RANGE_TRANSACTIONS", range_transactions),
    ):
        yield queues


def _first(db: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = db.query_one(sql, params)
    if row is None:
        raise RuntimeError(f"render: the demo data has no row for {sql!r}")
    return row[0]


#: Modules whose ``exercise(settings, recorder)`` runs that domain's jobs on the scratch database after the
#: ones above (the demo data is seeded; a domain seeds its own extra data inside ``recorder.paused()``).
DOMAIN_EXERCISES: tuple[str, ...] = (
    "scout.results.exercise",
    "scout.medallion.exercise",
    "scout.registry.exercise",
    "scout.personas.exercise",
)


def _run_the_jobs(folder: Path, transactions: int, seed: int, recorder: StatementRecorder) -> None:
    """Every job, with representative arguments, on a scratch database in ``folder``."""
    from scout.config import Settings
    from scout.db import connect
    from scout.demo import job as demo
    from scout.exports import job as exports
    from scout.jobs import dispatch, runs as job_runs
    from scout.migrations import job as migrations
    from scout.montecarlo import BATCH_QUEUE, job as montecarlo, standing
    from scout.personas import job as personas
    from scout.results import sessions

    settings = Settings.from_env(
        {}, SCOUT_DATABASE_URL=f"duckdb:///{folder / 'scout.duckdb'}", SCOUT_EXPORT_DESTINATION=str(folder / "exports")
    )
    with _production_shaped(RANGE_TRANSACTIONS):
        migrations.apply(trigger="cli", settings=settings)
        migrations.status(settings)
        migrations.verify(settings)

    with recorder.paused():  # the demo seed runs on the embedded DuckDB only: production never sends it
        demo.seed(trigger="cli", transactions=transactions, seed=seed, settings=settings)

    with _production_shaped(RANGE_TRANSACTIONS) as queues:
        personas.infer(trigger="cli", settings=settings)
        queued = dispatch.submit("personas.infer", {"full": True}, settings=settings)
        for body in queues[dispatch.JOBS_QUEUE].take():
            dispatch.run_message(body, settings=settings)

        exports.export_flat(trigger="cli", settings=settings)
        exports.export_flat(trigger="cli", limit=EXPORT_LIMIT, formats="csv", full=True, settings=settings)

        with recorder.paused(), connect(settings) as db:  # segment values the seeded data has (render's own reads)
            region = _first(db, "SELECT MIN(region) FROM dbo.Stores")
            store = _first(db, "SELECT MIN(store_id) FROM dbo.Stores WHERE region = ?", (region,))
            brand = _first(db, "SELECT MIN(brand) FROM dbo.TransactionItems")
            category = _first(db, "SELECT MIN(category) FROM dbo.TransactionItems")
            role = _first(db, "SELECT MIN(role) FROM ref.transaction_personas")

        local = montecarlo.run_local(
            {**SIMULATION, "segment": {"region": region, "store": str(store)}}, workers=1, settings=settings
        )
        montecarlo.show(local["run_id"], settings=settings)

        sessions.generate("render-completed", f"brand:{brand}", settings=settings)
        for body in queues[BATCH_QUEUE].take():
            montecarlo.run_queued_batch(body, settings=settings)
        sessions.status("render-completed", settings=settings)
        sessions.segment("render-completed", "Market", settings=settings)
        sessions.complete("render-completed", settings=settings)
        sessions.generate("render-completed", "all", settings=settings)  # a finished session generated again
        queues[BATCH_QUEUE].take()
        sessions.clear("render-completed", settings=settings)

        sessions.generate("render-poisoned", f"category:{category}", settings=settings)
        first, *_rest = queues[BATCH_QUEUE].take()
        montecarlo.poisoned_batch(first, settings=settings)
        sessions.status("render-poisoned", settings=settings)

        sessions.generate("render-processing", f"role:{role}", settings=settings)
        queues[BATCH_QUEUE].take()
        sessions.status("render-processing", settings=settings)

        standing.refresh(trigger="timer", settings=settings)

        with connect(settings) as db:
            job_runs.recent_runs(db)
            job_runs.recent_runs(db, "personas.infer", 5)
            job_runs.get_run(db, queued["run_id"])

        for name in DOMAIN_EXERCISES:
            importlib.import_module(name).exercise(settings, recorder)


def runtime_statements(*, transactions: int = SEED_TRANSACTIONS, seed: int = SEED) -> list[Statement]:
    """Every distinct statement the jobs send, named after the code that sends it."""
    with tempfile.TemporaryDirectory(prefix="scout-sql-render-") as folder, recording() as recorder:
        try:
            _run_the_jobs(Path(folder), transactions, seed, recorder)
        except Exception as exc:  # noqa: BLE001 - one line for the CLI, naming what stopped
            first = first_line(exc)
            raise RenderFailed(
                f"render stopped, nothing written: running the jobs on a scratch database failed: {first}"
            ) from exc
    out = []
    for sender, statements in recorder.distinct().items():
        for number, tsql in enumerate(statements, start=1):
            out.append(Statement("runtime", f"runtime/{sender}.{number}.sql", sender, tsql))
    return out


# -- writing ---------------------------------------------------------------------------------------------


def text_of(statement: Statement, engine: str) -> str:
    """The file's text: who sends it, then the statement as ``engine`` runs it."""
    from scout.db.translate import tsql_statement_to_duckdb, tsql_to_duckdb

    if engine == "mssql":
        body = statement.tsql.strip()
    elif statement.kind == "migrations":
        body = ";\n".join(tsql_to_duckdb(statement.tsql)) + ";"
    else:
        body = tsql_statement_to_duckdb(statement.tsql)
    header = [f"-- sent by {statement.sender}"] + ([f"-- {statement.note}"] if statement.note else [])
    return "\n".join(header) + "\n" + body + "\n"


def all_statements(engine: str, *, migrations_dir: str | os.PathLike[str] | None = None) -> list[Statement]:
    if engine not in ENGINES:
        raise InvalidInput(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    backend = backend_statements() if engine == "mssql" else []
    return [*migration_statements(migrations_dir), *runtime_statements(), *backend]


def _check_writable(out: Path) -> None:
    """Fail before the jobs run when ``out`` cannot be created or written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".scout-render-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise InvalidInput(f"cannot write to {out}: {exc.strerror or exc}") from None


def _clear_earlier(out: Path) -> None:
    """Remove the .sql files an earlier render left in the kind folders (nothing else), so a statement
    the app no longer sends does not linger."""
    for kind in KINDS:
        folder = out / kind
        if folder.is_dir():
            for old in folder.glob("*.sql"):
                old.unlink()


def render(engine: str, out: str | os.PathLike[str]) -> dict[str, Any]:
    """Write one file per statement under ``out``; returns the counts per kind and the files."""
    if engine not in ENGINES:
        raise InvalidInput(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    target = Path(out)
    _check_writable(target)
    statements = all_statements(engine)
    counts = {kind: 0 for kind in KINDS}
    try:
        _clear_earlier(target)
        for statement in statements:
            path = target / statement.path
            path.parent.mkdir(exist_ok=True)
            path.write_text(text_of(statement, engine), encoding="utf-8", newline="\n")
            counts[statement.kind] += 1
    except OSError as exc:
        raise InvalidInput(f"cannot write to {target}: {exc.strerror or exc}") from None
    return {
        "engine": engine,
        "out": str(target),
        "files": sum(counts.values()),
        "counts": counts,
        "paths": [s.path for s in statements],
    }


def summary_line(result: dict[str, Any]) -> str:
    c = result["counts"]
    return (
        f"{result['files']} files: migrations {c['migrations']}, runtime {c['runtime']}, "
        f"backend {c['backend']} ({result['engine']}) in {result['out']}"
    )
