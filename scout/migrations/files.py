"""Discover migration files: the file name *is* the interface (Flyway style).

- ``V<version>__<description>.sql``: versioned, applied once, in version order.
- ``U<version>__<description>.sql``: undoes the versioned migration of the same version.
- ``R__<name>.sql``: repeatable (views), re-applied whenever its checksum changes.

Batches are separated by ``GO`` on its own line, as in SSMS (``GO 3`` repeats the batch).

A versioned file may *amend* an applied one: a header line ``-- scout:amends <sha256> <reason>`` names
a checksum the file had when some database applied it. The ledger's old checksum is then not drift
(``verify`` reports it as ``amended``); the old text is kept in ``sql/amended/<name>.<12 hex>.sql`` and a
test proves it builds the very same schema, so an amendment can fix how a file is written (a reserved
word bracketed) but never hide a schema change.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

VERSIONED, UNDO, REPEATABLE = "versioned", "undo", "repeatable"

_NAME = re.compile(
    r"^(?:(?P<prefix>[VU])(?P<version>\d+(?:[._]\d+)*)|(?P<repeatable>R))__(?P<description>[A-Za-z0-9_.\-]+)\.sql$"
)
_GO = re.compile(r"^[ \t]*GO(?:[ \t]+(?P<count>\d+))?[ \t]*(?:--.*)?$", re.IGNORECASE)
_AMENDS = re.compile(r"^--\s*scout:amends\b(?P<rest>.*)$", re.IGNORECASE)
_AMENDS_VALUE = re.compile(r"^\s+(?P<checksum>[0-9a-f]{64})(?:\s+(?P<reason>\S.*?))?\s*$")

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "sql" / "migrations"
AMENDED_DIR = DEFAULT_DIR.parent / "amended"


class MigrationFileError(ValueError):
    """A migration file is malformed (bad name, duplicate version, unreadable)."""


@dataclass(frozen=True)
class Amendment:
    """``-- scout:amends <checksum> <reason>``: an earlier text of the file, applied somewhere."""

    checksum: str
    reason: str


@dataclass(frozen=True)
class Migration:
    type: str
    version: str | None  # None for repeatables
    description: str
    script: str  # file name
    checksum: str
    batches: tuple[str, ...] = field(repr=False)
    amends: tuple[Amendment, ...] = ()

    def amended(self, ledger_checksum: str) -> Amendment | None:
        """The amendment that declares ``ledger_checksum`` an earlier text of this file, if any."""
        return next((a for a in self.amends if a.checksum == ledger_checksum), None)

    @property
    def version_key(self) -> tuple[int, ...]:
        return version_key(self.version or "")

    @property
    def key(self) -> str:
        """What identifies the migration in the ledger: its version, or ``R:<name>`` for repeatables."""
        return f"R:{self.description}" if self.type == REPEATABLE else (self.version or "")


def version_key(version: str) -> tuple[int, ...]:
    """``"1.10"`` sorts after ``"1.9"``: compare versions as tuples of integers."""
    return tuple(int(part) for part in re.split(r"[._]", version)) if version else ()


def normalize_version(version: str) -> str:
    """``V1_2`` and ``1.2`` name the same version; leading zeros do not matter (``V001`` = ``1``)."""
    return ".".join(str(p) for p in version_key(version))


def checksum(text: str) -> str:
    """SHA-256 of the script, ignoring line-ending and trailing-whitespace differences only."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return hashlib.sha256("\n".join(lines).rstrip("\n").encode("utf-8")).hexdigest()


def split_batches(text: str) -> list[str]:
    """Split a script on ``GO`` lines; ``GO n`` repeats the batch n times; empty batches vanish."""
    batches: list[str] = []
    current: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        match = _GO.match(line)
        if match is None:
            current.append(line)
            continue
        body = "\n".join(current).strip()
        if body:
            batches.extend([body] * int(match.group("count") or 1))
        current = []
    body = "\n".join(current).strip()
    if body:
        batches.append(body)
    return batches


def parse_amendments(name: str, text: str) -> tuple[Amendment, ...]:
    """The ``-- scout:amends`` lines of the file's leading comment block."""
    found = []
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        match = _AMENDS.match(stripped)
        if match is None:
            continue
        value = _AMENDS_VALUE.match(match.group("rest"))
        if value is None or not value.group("reason"):
            raise MigrationFileError(f"{name}: '-- scout:amends' needs a lower-case SHA-256 checksum and a reason")
        found.append(Amendment(value.group("checksum"), value.group("reason")))
    return tuple(found)


def amended_original(script: str, amendment: Amendment, folder: Path = AMENDED_DIR) -> Path:
    """Where the amended text is kept: ``sql/amended/<script without .sql>.<first 12 hex>.sql``."""
    return folder / f"{Path(script).stem}.{amendment.checksum[:12]}.sql"


def parse_name(name: str) -> tuple[str, str | None, str] | None:
    """(type, version, description) for a well-formed migration file name, else None."""
    match = _NAME.match(name)
    if match is None:
        return None
    if match.group("repeatable"):
        return REPEATABLE, None, match.group("description")
    kind = VERSIONED if match.group("prefix") == "V" else UNDO
    return kind, normalize_version(match.group("version")), match.group("description").replace("_", " ")


def load_migration(path: Path) -> Migration:
    parsed = parse_name(path.name)
    if parsed is None:
        raise MigrationFileError(f"{path.name}: not a migration name (V<version>__<desc>.sql, U..., R__<name>.sql)")
    kind, version, description = parsed
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationFileError(f"{path.name}: cannot read: {exc}") from None
    amends = parse_amendments(path.name, text)
    if amends and kind != VERSIONED:
        raise MigrationFileError(f"{path.name}: only versioned migrations can amend an applied text")
    return Migration(kind, version, description, path.name, checksum(text), tuple(split_batches(text)), amends)


@dataclass(frozen=True)
class MigrationSet:
    versioned: tuple[Migration, ...]
    undo: dict[str, Migration]
    repeatable: tuple[Migration, ...]
    unknown: tuple[str, ...]  # .sql files whose names follow no convention

    def by_version(self) -> dict[str, Migration]:
        return {m.key: m for m in self.versioned}


def discover(directory: str | os.PathLike[str] | None = None) -> MigrationSet:
    """Read every migration file of the folder, sorted; duplicate versions are an error."""
    folder = Path(directory) if directory else DEFAULT_DIR
    if not folder.is_dir():
        raise MigrationFileError(f"migrations folder not found: {folder}")
    versioned: dict[str, Migration] = {}
    undo: dict[str, Migration] = {}
    repeatable: dict[str, Migration] = {}
    unknown: list[str] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() != ".sql":
            continue
        if parse_name(path.name) is None:
            unknown.append(path.name)
            continue
        migration = load_migration(path)
        target = {VERSIONED: versioned, UNDO: undo, REPEATABLE: repeatable}[migration.type]
        key = migration.description if migration.type == REPEATABLE else migration.key
        if key in target:
            raise MigrationFileError(f"{path.name}: duplicates {target[key].script}")
        target[key] = migration
    return MigrationSet(
        versioned=tuple(sorted(versioned.values(), key=lambda m: m.version_key)),
        undo=undo,
        repeatable=tuple(sorted(repeatable.values(), key=lambda m: m.description)),
        unknown=tuple(unknown),
    )
