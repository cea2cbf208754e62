"""The DQ report of one upload: what was checked, what failed, and how to fix it.

Stored as JSON in the register (``to_dict``/``from_dict``), shown on the portal (``to_html``)
and sent by email (``to_text``). Both renderings use the Jinja2 templates in ``templates/dq/``
so wording changes need no code change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from plancycle.returns.checks import CheckResult

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
_STATUS_ORDER = {"fail": 0, "warn": 1, "pass": 2}
_VERDICT_TEXT = {
    "pass": "Accepted: all checks passed.",
    "warn": "Accepted with notes: the planner will review the warnings below.",
    "fail": "Resubmission required: fix the failed checks below and upload the file again.",
}


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass
class DQReport:
    """Data-quality verdict of one uploaded return, with every check's outcome."""

    kind: str
    file_name: str
    sha256: str
    verdict: str
    checks: list[CheckResult]
    row_count: int
    generated_at: dt.datetime
    kind_title: str = ""
    notes: list[str] = field(default_factory=list)
    #: Great Expectations' own result of the run (an ``ExpectationSuiteValidationResult``),
    #: kept in memory for its Data Docs page; not part of the stored report.
    gx_result: Any = field(default=None, repr=False, compare=False)

    @property
    def accepted(self) -> bool:
        """Fail sends the return back; pass and warn accept it."""
        return self.verdict != "fail"

    @property
    def verdict_text(self) -> str:
        return _VERDICT_TEXT[self.verdict]

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "warn": 0, "fail": 0}
        for check in self.checks:
            out[check.status] += 1
        return out

    def problems(self) -> list[CheckResult]:
        """Failed checks first, then warnings, in check order within each."""
        flagged = [c for c in self.checks if c.status != "pass"]
        return sorted(flagged, key=lambda c: _STATUS_ORDER[c.status])

    def check(self, check_id: str) -> CheckResult:
        """The check with ``check_id``; KeyError lists the ids present."""
        for check in self.checks:
            if check.id == check_id:
                return check
        raise KeyError(f"no check {check_id!r}; checks: {', '.join(c.id for c in self.checks)}")

    def _context(self) -> dict[str, Any]:
        return {"report": self, "problems": self.problems(), "counts": self.counts(),
                "generated": self.generated_at.strftime("%d %B %Y %H:%M %Z").strip()}

    def to_html(self) -> str:
        return _environment().get_template("dq/report.html.j2").render(**self._context())

    def to_text(self) -> str:
        return _environment().get_template("dq/summary.txt.j2").render(**self._context())

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "kind_title": self.kind_title,
            "file_name": self.file_name,
            "sha256": self.sha256,
            "verdict": self.verdict,
            "row_count": self.row_count,
            "generated_at": self.generated_at.isoformat(),
            "notes": list(self.notes),
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DQReport:
        return cls(
            kind=data["kind"],
            kind_title=data.get("kind_title", ""),
            file_name=data["file_name"],
            sha256=data["sha256"],
            verdict=data["verdict"],
            row_count=int(data["row_count"]),
            generated_at=dt.datetime.fromisoformat(data["generated_at"]),
            notes=list(data.get("notes", [])),
            checks=[CheckResult.from_dict(c) for c in data["checks"]],
        )
