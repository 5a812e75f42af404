"""The team's acceptance check, as pure logic: base transactions = export rows = unique Transaction_IDs."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Acceptance:
    base_transactions: int
    export_rows: int
    unique_ids: int
    empty_ids: int
    streamed_rows: int

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
        return found

    @property
    def passed(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """The acceptance lines the team prints after every refresh."""
        return [f"base transactions: {self.base_transactions}", f"export rows: {self.export_rows}",
                f"unique Transaction_IDs: {self.unique_ids}", "PASSED" if self.passed else "FAILED"]

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed, "problems": self.problems}
