"""The team's acceptance check, as pure logic: base transactions = export rows = unique Transaction_IDs,
and an export never shrinks silently.

Shrinking: an export of 0 rows, or of fewer than half the rows expected from the latest full export, is
refused unless the caller says it is intended (``--allow-shrink``, HTTP ``{"allow_shrink": true}``): a
source emptied by a failed reload must not replace a good export. The expected rows are those of the
latest full (unlimited) export -- a limited export carries that count forward in its manifest
(``full_export_rows``) rather than replacing it -- capped at the limit of this export: ``--limit 100``
after a full export of 12,047 expects 100 and is compared as such, and one small limited export never
lowers the bar the next full export is held to.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

ALLOW_SHRINK_HINT = 'pass --allow-shrink (HTTP: "allow_shrink": true) if that is intended'


def full_export_rows(manifest: dict[str, Any] | None) -> int | None:
    """The rows of the latest full export as of ``manifest`` (the latest published one): its own count if
    it is a full export, else the count it carried forward; None when no full export is known."""
    if not manifest:
        return None
    carried = manifest.get("full_export_rows")
    if carried is not None:
        return int(carried)
    if manifest.get("limit") is None:  # written before manifests carried the count: its own, if full
        rows = (manifest.get("counts") or {}).get("export_rows")
        return None if rows is None else int(rows)
    return None


@dataclass(frozen=True)
class Acceptance:
    base_transactions: int
    export_rows: int
    unique_ids: int
    empty_ids: int
    streamed_rows: int
    limit: int | None = None
    previous_export_rows: int | None = None  # of the export that was latest until now (None: the first)
    reference_rows: int | None = None  # of the latest full export: what a drop is measured against
    allow_shrink: bool = False

    @property
    def expected_rows(self) -> int | None:
        """The rows a drop is measured against: the latest full export's, capped at this export's limit."""
        if self.reference_rows is None:
            return None
        return self.reference_rows if self.limit is None else min(self.reference_rows, self.limit)

    @property
    def shrink(self) -> str | None:
        """Why this export shrinks (0 rows, or fewer than half of the expected rows); None when it does not."""
        if self.export_rows == 0:
            return "0 rows: an empty export never replaces the latest one"
        expected = self.expected_rows
        if expected is not None and self.export_rows * 2 < expected:
            return (
                f"{self.export_rows} rows is fewer than half of the {expected} expected from the latest "
                f"full export ({self.reference_rows} rows)"
            )
        return None

    @property
    def problems(self) -> list[str]:
        found = []
        if self.export_rows != self.base_transactions:
            found.append(f"export rows {self.export_rows} != base transactions {self.base_transactions}")
        if self.unique_ids != self.export_rows:
            found.append(f"{self.export_rows - self.unique_ids} duplicate Transaction_ID row(s)")
        if self.empty_ids:
            found.append(f"{self.empty_ids} empty Transaction_ID(s)")
        if self.streamed_rows != self.export_rows:
            found.append(f"wrote {self.streamed_rows} rows but the view holds {self.export_rows}")
        if self.shrink and not self.allow_shrink:
            found.append(f"{self.shrink}; {ALLOW_SHRINK_HINT}")
        return found

    @property
    def passed(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """The acceptance lines the team prints after every refresh (with the previous export's rows,
        when there is one, and a shrink that was allowed)."""
        lines = [
            f"base transactions: {self.base_transactions}",
            f"export rows: {self.export_rows}",
            f"unique Transaction_IDs: {self.unique_ids}",
        ]
        if self.previous_export_rows is not None:
            lines.append(f"previous export rows: {self.previous_export_rows}")
        if self.shrink and self.allow_shrink:
            lines.append(f"shrink allowed: {self.shrink}")
        return lines + ["PASSED" if self.passed else "FAILED"]

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed, "problems": self.problems}
