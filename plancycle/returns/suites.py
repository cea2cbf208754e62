"""Generate the Great Expectations suites in ``expectations/`` from the column contracts.

Run ``python -m plancycle.returns.suites`` after changing ``kinds.py``; a test fails when the
committed JSON differs from what this writes, so suites and contracts never drift. The JSON is
GX 1.x's ``ExpectationSuite`` format, written without importing GX (which is slow to import).

The suite runs on the *validation frame* built by ``validate.prepare``, an encoded view of
the upload that keeps GX fast on large extracts (GX filters the whole frame for every
expectation, and copying wide text columns dominated its run time):

* ``<col>__given`` – ``given`` where the uploader gave a value, blank where the cell was empty
  (not-null checks);
* ``<col>__unparsed`` – the text where it could not be read as the column's type, else blank
  (type checks);
* ``<col>`` – the typed value, only for columns with value rules: numbers as floats, codes
  and identifiers as categoricals of the normalised text (codes, ranges, uniqueness).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from plancycle.returns.kinds import KINDS, Column, ReturnKind

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
_GX_SEVERITY = {"fail": "critical", "warn": "warning"}


def given_column(col: Column) -> str:
    return f"{col.name}__given"


def unparsed_column(col: Column) -> str:
    return f"{col.name}__unparsed"


def needs_values(kind: ReturnKind, col: Column) -> bool:
    """Whether the suite checks the column's values (so the validation frame must hold them)."""
    return (col.codes is not None or col.min is not None or col.max is not None or col.unique
            or col.name in kind.unique_together)


def _expectation(kind: ReturnKind, type_: str, check_id: str, description: str, fix: str,
                 **kwargs: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "kwargs": kwargs,
        "meta": {"check_id": check_id, "description": description, "fix": fix},
        "severity": _GX_SEVERITY[kind.severity(check_id)],
    }


def build_suite(kind: ReturnKind) -> dict[str, Any]:
    """The suite for ``kind`` as a JSON-ready dict (GX 1.x ``ExpectationSuite`` layout)."""
    expected = kind.expected_columns_text()
    out: list[dict[str, Any]] = []
    for col in kind.columns:
        if col.required:
            out.append(_expectation(
                kind, "expect_column_to_exist", "columns.required",
                "Required columns are present",
                f"Add the missing column(s) with these exact headers. Expected columns: "
                f"{expected}.", column=given_column(col)))
    for col in kind.columns:
        rule = col.rule_text()
        if col.required:
            out.append(_expectation(
                kind, "expect_column_values_to_not_be_null", f"not_null.{col.name}",
                f"{col.name} is filled in",
                f"Fill in {col.name} on every row ({rule}).", column=given_column(col)))
        if col.typed:
            out.append(_expectation(
                kind, "expect_column_values_to_be_null", f"type.{col.name}",
                f"{col.name} is {col.type_text()}",
                f"Enter {col.name} as {rule}, without units, currency signs or thousands "
                "separators.", column=unparsed_column(col)))
        if col.codes is not None:
            shown = ", ".join(col.codes)
            if len(shown) > 300:
                shown = ", ".join(col.codes[:12]) + ", …"
            spelled = (" (the code letter or 'code label', e.g. 'A White British')"
                       if col.name == "ethnic_category" else "")
            prefix = (" (the published numeric prefix such as '002_' is allowed)"
                      if col.strip_prefix else "")
            out.append(_expectation(
                kind, "expect_column_values_to_be_in_set", f"codes.{col.name}",
                f"{col.name} uses the standard code list",
                f"Use one of the standard values for {col.name}{spelled}{prefix}: {shown}.",
                column=col.name, value_set=list(col.codes)))
        if col.min is not None or col.max is not None:
            bounds: dict[str, Any] = {}
            if col.min is not None:
                bounds["min_value"] = col.min
            if col.max is not None:
                bounds["max_value"] = col.max
            if col.min_exclusive:
                bounds["strict_min"] = True
            out.append(_expectation(
                kind, "expect_column_values_to_be_between", f"range.{col.name}",
                f"{col.name} is {col.range_text()}",
                f"{col.name} must be {rule}; correct the value or check the column holds "
                f"{col.name} and not another measure.", column=col.name, **bounds))
        if col.unique:
            out.append(_expectation(
                kind, "expect_column_values_to_be_unique", f"unique.{col.name}",
                f"{col.name} is unique",
                f"Each {col.name} may appear once: remove duplicate rows or correct the "
                "identifier.", column=col.name))
    if kind.unique_together:
        keys = ", ".join(kind.unique_together)
        out.append(_expectation(
            kind, "expect_compound_columns_to_be_unique", "unique.key",
            f"One row per {keys}",
            f"Give one row per combination of {keys}: merge or remove duplicated rows.",
            column_list=list(kind.unique_together)))
    return {
        "name": kind.key,
        "id": None,
        "expectations": out,
        "meta": {"kind": kind.key, "title": kind.title,
                 "generated_by": "python -m plancycle.returns.suites"},
        "notes": f"Generated from plancycle/returns/kinds.py for return kind '{kind.key}'. "
                 "Do not edit by hand.",
    }


def suite_json(kind: ReturnKind) -> str:
    """The exact text committed as ``expectations/<kind>.json``."""
    return json.dumps(build_suite(kind), indent=2, ensure_ascii=False) + "\n"


def load_suite(kind_key: str, directory: Path = EXPECTATIONS_DIR) -> dict[str, Any]:
    """The committed suite for a kind, as a dict (the validator runs this, not the generator)."""
    path = directory / f"{kind_key}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: run `python -m plancycle.returns.suites` to write the suites.")
    return json.loads(path.read_text(encoding="utf-8"))


def write_suites(directory: Path = EXPECTATIONS_DIR) -> list[Path]:
    """Write one suite per kind; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in KINDS.values():
        path = directory / f"{kind.key}.json"
        path.write_text(suite_json(kind), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    directory = Path(args[0]) if args else EXPECTATIONS_DIR
    for path in write_suites(directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
