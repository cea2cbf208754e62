"""What reading an upload produces: a table of the contract's columns, or an UploadError.

Row numbers are the ones the user sees in Excel: the header is row 1 and the first data row is
row 2 (or later when title rows sit above the header), so every message can point at a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from plancycle.returns.checks import CheckResult
    from plancycle.returns.kinds import ReturnKind


class UploadError(Exception):
    """The upload cannot be read as a return; ``str()`` is a message for the uploader."""

    def __init__(self, file_name: str, problem: str, fix: str, *, code: str) -> None:
        self.file_name = file_name
        self.problem = problem
        self.fix = fix
        #: Stable identifier for tests and the register (``"file.empty"``, ``"file.too_large"``).
        self.code = code
        super().__init__(f"{file_name}: {problem} {fix}")


@dataclass
class ReturnTable:
    """An upload read as text: contract columns only, blank cells as NA, index = row number."""

    kind: ReturnKind
    file_name: str
    frame: pd.DataFrame
    #: Contract column → header text as uploaded (for messages that quote the user's file).
    headers: dict[str, str] = field(default_factory=dict)
    header_row: int = 1
    #: Reader-level checks (totals row, title rows, unknown columns …) for the DQ report.
    findings: list[CheckResult] = field(default_factory=list)
    #: Informational notes (delimiter, encoding, sheet used) that need no action.
    notes: list[str] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return len(self.frame)


def column_letter(index: int) -> str:
    """0 → ``A``, 27 → ``AB``: how spreadsheet users name columns."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def row_ranges(rows: list[int]) -> str:
    """[2, 3, 4, 9] → ``"2–4, 9"`` so long row lists stay readable."""
    parts: list[str] = []
    start = prev = None
    for r in rows:
        if start is None:
            start = prev = r
        elif r == prev + 1:  # type: ignore[operator]
            prev = r
        else:
            parts.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = prev = r
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}–{prev}")
    text = ", ".join(parts[:10])
    return text + (f" and {len(parts) - 10} more" if len(parts) > 10 else "")
