"""Validate a return: parse the text, run the kind's GX suite, run the Python rules, report.

The caller stores the raw file first (``storage.RawStore.store``) and then calls
:func:`validate_upload`, which never raises for a bad file: an unreadable upload becomes a
DQ report with one failed check that says what to do.

Great Expectations is imported lazily, once per process (it takes seconds to import), with
analytics and progress bars off. The suite runs on a frame whose index is the user's row
numbers, so GX's ``partial_unexpected_index_list`` is directly the rows to show.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plancycle.returns import codes
from plancycle.returns.checks import (
    GENERIC_RULES,
    MAX_SAMPLES,
    RULES,
    CheckResult,
    OffendingRow,
    RuleInput,
    ValidationContext,
    status_for,
    verdict,
)
from plancycle.returns.hostile import formula_check
from plancycle.returns.kinds import Column, ReturnKind, get_kind
from plancycle.returns.limits import max_upload_bytes
from plancycle.returns.reader import read_return
from plancycle.returns.report import DQReport
from plancycle.returns.suites import given_column, load_suite, needs_values, unparsed_column
from plancycle.returns.table import ReturnTable, UploadError

logger = logging.getLogger(__name__)

# --- parsing text into typed values ----------------------------------------------------------

_PREFIX = re.compile(r"^\d+_")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%b-%Y", "%Y-%m-%d %H:%M:%S")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def _by_uniques(text: pd.Series, convert: Any, *, categorical: bool = False) -> pd.Series:
    """Apply ``convert`` to the distinct values only: codes and dates repeat a lot.

    A Categorical column (how the reader keeps repetitive columns) already holds its distinct
    values. With ``categorical`` the result is a pandas Categorical, which is cheap for GX to
    filter.
    """
    if isinstance(text.dtype, pd.CategoricalDtype):
        idx = text.cat.codes.to_numpy()
        uniques: Any = text.cat.categories
    else:
        idx, uniques = pd.factorize(text, use_na_sentinel=True)
    converted = pd.Series(convert(pd.Series(np.asarray(uniques, dtype=object)))
                          ).reset_index(drop=True)
    if categorical:
        cat_codes, categories = pd.factorize(converted, use_na_sentinel=True)
        codes_ = np.where(idx >= 0, cat_codes[np.maximum(idx, 0)] if len(cat_codes) else -1, -1)
        return pd.Series(pd.Categorical.from_codes(codes_, categories=categories),
                         index=text.index)
    # -1 (blank) is not a label of ``converted``, so reindexing turns it into NA.
    return converted.reindex(idx).set_axis(text.index)


def _mostly_repeated(text: pd.Series, sample: int = 10_000) -> bool:
    """Whether a column repeats values enough that converting distinct values pays off."""
    head = text.iloc[:sample]
    return len(head) >= 1000 and head.nunique() < len(head) // 10


def _to_float(text: pd.Series) -> pd.Series:
    if isinstance(text.dtype, pd.CategoricalDtype) or _mostly_repeated(text):
        # WTE, hours: a handful of values over a million rows
        return _by_uniques(text, lambda u: pd.to_numeric(u, errors="coerce")).astype(float)
    return pd.to_numeric(text, errors="coerce").astype(float)


def _parse_dates(uniques: pd.Series) -> pd.Series:
    parsed = pd.Series(pd.NaT, index=uniques.index, dtype="datetime64[ns]")
    for fmt in _DATE_FORMATS:
        todo = parsed.isna()
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(uniques[todo], format=fmt, errors="coerce")
    return parsed


def _parse_months(uniques: pd.Series) -> pd.Series:
    text = uniques.astype(str)
    out = text.where(text.str.fullmatch(_MONTH.pattern), None).astype(object)
    todo = out.isna()
    if todo.any():
        dates = _parse_dates(uniques[todo])
        for fmt in ("%b-%Y", "%B %Y", "%b %Y"):
            gaps = dates.isna()
            if gaps.any():
                dates[gaps] = pd.to_datetime(uniques[todo][gaps], format=fmt, errors="coerce")
        out[todo] = dates.dt.strftime("%Y-%m").where(dates.notna(), None)
    return out


def _code_normaliser(col: Column) -> Any:
    canonical = {c.lower(): c for c in col.codes or ()}
    if col.name == "ethnic_category":
        canonical = dict(codes.ETHNIC_SPELLINGS)

    def convert(uniques: pd.Series) -> pd.Series:
        text = uniques.astype(str)
        if col.strip_prefix:
            text = text.str.replace(_PREFIX, "", regex=True)
        return text.map(lambda v: canonical.get(v.lower(), v))

    return convert


def parse_column(col: Column, text: pd.Series) -> pd.Series:
    """Typed values of one column; unreadable text becomes NA (and is reported as a type error)."""
    if col.dtype == "float":
        return _to_float(text)
    if col.dtype == "int":
        values = _to_float(text)
        return values.where(values % 1 == 0)
    if col.dtype == "date":
        return _by_uniques(text, _parse_dates)
    if col.dtype == "month":
        return _by_uniques(text, _parse_months)
    if col.dtype == "bool":
        return _by_uniques(text, lambda u: u.str.lower().map(
            lambda v: True if v in _TRUE else (False if v in _FALSE else None)))
    if col.dtype == "code":
        return _by_uniques(text, _code_normaliser(col), categorical=True)
    if col.strip_prefix:
        return _by_uniques(text, lambda u: u.astype(str).str.replace(_PREFIX, "", regex=True))
    return text


@dataclass
class Prepared:
    """A return ready for checking: typed values, and the frame the GX suite runs on."""

    typed: pd.DataFrame
    gx_frame: pd.DataFrame
    missing_required: list[str]
    #: GX's result of the suite on ``gx_frame``, once run (for the upload's Data Docs).
    gx_result: Any = None


def _unparsed(raw: pd.Series, bad: pd.Series) -> pd.Series:
    """The uploaded text where it could not be parsed, as a (mostly blank) Categorical."""
    mask = bad.to_numpy(dtype=bool)
    codes_ = np.full(len(raw), -1, dtype=np.int32)
    categories: Any = []
    if mask.any():
        inverse, uniques = pd.factorize(raw[mask])
        # As plain values: a CategoricalIndex given as categories would stand for its
        # *categories* (every distinct value of the column), not the values found here.
        categories = np.asarray(uniques, dtype=object)
        codes_[mask] = inverse
    return pd.Series(pd.Categorical.from_codes(codes_, categories=categories), index=raw.index)


_GIVEN = pd.CategoricalDtype(["given"])


def _given(given: pd.Series) -> pd.Categorical:
    """``given`` where the uploader gave a value, blank where not: one byte per row, which
    keeps GX's row filters cheap (it filters the whole frame for every expectation)."""
    codes_ = np.where(given.to_numpy(dtype=bool), 0, -1).astype(np.int8)
    return pd.Categorical.from_codes(codes_, dtype=_GIVEN, validate=False)


def prepare(table: ReturnTable) -> Prepared:
    """Parse every contract column and build the validation frame (see ``suites``).

    Absent optional columns are added empty, so the suite runs unchanged on any upload that
    has the required columns.
    """
    kind, text = table.kind, table.frame
    typed: dict[str, pd.Series] = {}
    gx: dict[str, Any] = {}
    empty = pd.Series(np.full(len(text), None, dtype=object), index=text.index)
    missing = []
    for col in kind.columns:
        if col.name not in text:
            if col.required:
                missing.append(col.name)
                continue
            raw = empty
        else:
            raw = text[col.name]
        value = parse_column(col, raw)
        typed[col.name] = value
        given = raw.notna()
        if col.required:
            gx[given_column(col)] = _given(given)
        if col.typed:
            gx[unparsed_column(col)] = _unparsed(raw, given & value.isna()).array
        if needs_values(kind, col):
            if value.dtype == object or pd.api.types.is_string_dtype(value.dtype):
                # factorize + from_codes: pd.Categorical(values) would sort the categories.
                codes_, categories = pd.factorize(value, use_na_sentinel=True)
                # Repetitive text filters cheaply as codes; mostly distinct text (an
                # identifier checked for uniqueness) stays as read: its categories would be
                # one Python string per row (≈90 MB per 1.5M rows) for no gain.
                if len(categories) * 2 <= len(value):
                    value = pd.Series(pd.Categorical.from_codes(codes_, categories=categories),
                                      index=value.index)
            gx[col.name] = value.array
    typed_frame = pd.DataFrame(typed, index=text.index, copy=False)
    # GX lists offending rows by index; an unnamed index makes it return plain row numbers.
    gx_frame = pd.DataFrame(gx, index=text.index.rename(None), copy=False)
    return Prepared(typed=typed_frame, gx_frame=gx_frame, missing_required=missing)


# --- running the GX suite --------------------------------------------------------------------

def warm_up() -> None:
    """Import GX and build its context now (e.g. at worker start) rather than on the first
    upload; see ``plancycle.returns.gx``."""
    from plancycle.returns import gx

    gx.warm_up()


def _runtime_suite(kind: ReturnKind, missing: list[str]) -> dict[str, Any]:
    """The committed suite, less the value checks of required columns that are absent."""
    suite = load_suite(kind.key)
    gone = set(missing)
    kept = []
    for exp in suite["expectations"]:
        column = exp["kwargs"].get("column", "")
        base = column.split("__", 1)[0]
        if exp["type"] != "expect_column_to_exist" and base in gone:
            continue
        if exp["type"] == "expect_compound_columns_to_be_unique" and gone & set(
                exp["kwargs"]["column_list"]):
            continue
        kept.append(exp)
    return {**suite, "expectations": kept}


def _describe(table: ReturnTable, column: str) -> str:
    shown = table.headers.get(column)
    return column if shown in (None, column) else f"{column} ('{shown}')"


def _gx_checks(table: ReturnTable, prepared: Prepared) -> list[CheckResult]:
    kind = table.kind
    suite = _runtime_suite(kind, prepared.missing_required)
    from plancycle.returns.gx import GreatExpectations

    prepared.gx_result = GreatExpectations.get().validate(prepared.gx_frame, suite)
    results = prepared.gx_result.results
    by_check: dict[str, Any] = {}
    missing_columns: list[str] = []
    required_meta: dict[str, Any] | None = None
    for res in results:
        cfg = res.expectation_config
        meta = cfg.meta or {}
        check_id = meta.get("check_id", cfg.type)
        if cfg.type == "expect_column_to_exist":
            required_meta = meta
            if not res.success:
                missing_columns.append(cfg.kwargs["column"].split("__", 1)[0])
            continue
        by_check[check_id] = (cfg, meta, res)
    out: list[CheckResult] = []
    if required_meta is not None:
        severity = kind.severity("columns.required")
        missing_columns = [c for c in kind.required_columns if c in missing_columns]
        out.append(CheckResult(
            id="columns.required", description=required_meta["description"], severity=severity,
            status=status_for(severity, bool(missing_columns)),
            evaluated=len(kind.required_columns), offending=len(missing_columns),
            rows=[OffendingRow(None, {"column": c}) for c in missing_columns],
            message=(f"Missing column(s): {', '.join(missing_columns)}. Their values could not "
                     "be checked." if missing_columns else ""),
            fix=required_meta["fix"],
        ))
    order = {e["meta"]["check_id"]: i for i, e in enumerate(suite["expectations"])}
    for check_id in sorted(by_check, key=lambda c: order.get(c, 1 << 30)):
        cfg, meta, res = by_check[check_id]
        out.append(_map_result(table, check_id, cfg, meta, res))
    return out


def _map_result(table: ReturnTable, check_id: str, cfg: Any, meta: dict[str, Any],
                res: Any) -> CheckResult:
    kind = table.kind
    severity = kind.severity(check_id)
    result = res.result or {}
    family, _, column = check_id.partition(".")
    base = CheckResult(id=check_id, description=meta.get("description", cfg.type),
                       severity=severity, status="pass", fix=meta.get("fix", ""))
    exc = res.exception_info or {}
    if exc.get("raised_exception"):
        base.status = status_for(severity, True)
        base.message = ("This check could not run: "
                        f"{str(exc.get('exception_message', 'unknown error'))[:200]}. "
                        "Report this to the plancycle team with the file.")
        return base
    elements = int(result.get("element_count") or 0)
    missing = int(result.get("missing_count") or 0)
    base.evaluated = elements if family in ("not_null", "type") else elements - missing
    base.offending = int(result.get("unexpected_count") or 0)
    base.status = status_for(severity, not res.success)
    if res.success or not base.offending:
        return base
    columns = (list(kind.unique_together) if check_id == "unique.key" else [column])
    # GX gives bare index values, or {index name: value, column: value} for a named index.
    rows = [int(r["row"] if isinstance(r, dict) else r)
            for r in (result.get("partial_unexpected_index_list") or [])][:MAX_SAMPLES]
    cols = [c for c in columns if c in table.frame.columns]
    part = table.frame.loc[rows, cols] if rows else table.frame.iloc[0:0][cols]
    base.rows = [OffendingRow(r, {c: ("" if pd.isna(v) else str(v)) for c, v in zip(
        cols, vals, strict=True)}) for r, vals in zip(rows, part.itertuples(index=False),
                                                      strict=True)]
    first = base.rows[0] if base.rows else None
    example = ""
    if first is not None:
        value = first.values.get(column, "")
        example = f" (first: row {first.row}" + (f", '{value}'" if value else "") + ")"
    label = _describe(table, column) if column in kind.column_names else column
    n = base.offending
    if family == "not_null":
        base.message = f"{n} row(s) have no {label}{example}."
    elif family == "type":
        col = kind.column(column)
        base.message = f"{n} row(s) have a {label} that is not {col.type_text()}{example}."
    elif family == "codes":
        base.message = f"{n} row(s) have a {label} that is not in the code list{example}."
    elif family == "range":
        col = kind.column(column)
        base.message = f"{n} row(s) have a {label} that is not {col.range_text()}{example}."
    elif check_id == "unique.key":
        base.message = (f"{n} row(s) repeat the same {', '.join(kind.unique_together)}"
                        + (f" (first: row {first.row})" if first else "") + ".")
    elif family == "unique":
        base.message = f"{n} row(s) share a {label} with another row{example}."
    else:
        base.message = f"{n} row(s) failed{example}."
    return base


# --- the whole validation -----------------------------------------------------------------

def _python_checks(table: ReturnTable, prepared: Prepared,
                   context: ValidationContext) -> list[CheckResult]:
    inp = RuleInput(kind=table.kind, text=table.frame, typed=prepared.typed, context=context,
                    headers=table.headers)
    out = []
    for rule_id in dict.fromkeys((*table.kind.rules, *GENERIC_RULES)):
        result = RULES[rule_id](inp)
        if result is not None:
            out.append(result)
    return out


def validate_table(
    table: ReturnTable,
    context: ValidationContext | None = None,
    *,
    sha256: str = "",
    generated_at: dt.datetime | None = None,
) -> DQReport:
    """Run every check on a table already read; the report's verdict decides accept/send back."""
    context = context or ValidationContext()
    prepared = prepare(table)
    checks = [*table.findings, *_gx_checks(table, prepared),
              *_python_checks(table, prepared, context)]
    formulas = formula_check(table.frame, table.headers)
    if formulas is not None:
        checks.append(formulas)
    notes = list(table.notes)
    if context.staff_in_post is None and table.kind.key == "vacancies":
        notes.append("Staff groups were not compared with staff in post (not received yet).")
    if context.previous_row_count is None and "completeness.row_swing" in table.kind.rules:
        notes.append("No return from last year to compare the row count with.")
    return DQReport(
        kind=table.kind.key, kind_title=table.kind.title, file_name=table.file_name,
        sha256=sha256, verdict=verdict(checks), checks=checks, row_count=table.row_count,
        generated_at=generated_at or dt.datetime.now(dt.UTC), notes=notes,
        gx_result=prepared.gx_result,
    )


def _sha256_of(source: bytes | str | Path, max_bytes: int | None) -> str:
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    path = Path(source)
    if path.stat().st_size > (max_upload_bytes() if max_bytes is None else max_bytes):
        return ""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def validate_upload(
    source: bytes | str | Path,
    kind: ReturnKind | str,
    *,
    file_name: str | None = None,
    context: ValidationContext | None = None,
    sha256: str | None = None,
    max_bytes: int | None = None,
    generated_at: dt.datetime | None = None,
) -> DQReport:
    """Read and validate one uploaded file; an unreadable file gives a failed report, not a raise.

    Store the raw file first and pass its ``sha256`` (and the stored path) here.
    """
    kind = get_kind(kind) if isinstance(kind, str) else kind
    name = file_name or (Path(source).name if not isinstance(source, bytes) else "upload")
    digest = sha256 if sha256 is not None else _sha256_of(source, max_bytes)
    try:
        table = read_return(source, kind, file_name=name, max_bytes=max_bytes)
    except UploadError as err:
        return _unreadable(kind, name, digest, err, generated_at)
    except Exception as exc:  # a parser bug on an odd file must not reach the uploader
        # One line, no traceback: the log must not carry parser internals or file content.
        logger.error("reading %s as %s failed: %s", name, kind.key, type(exc).__name__)
        err = UploadError(name, f"The file could not be read ({type(exc).__name__}).",
                          "Save it again from Excel as .xlsx or 'CSV UTF-8' and re-upload; if "
                          "that fails, send it to the workforce planner.", code="file.unreadable")
        return _unreadable(kind, name, digest, err, generated_at)
    return validate_table(table, context, sha256=digest, generated_at=generated_at)


def _unreadable(kind: ReturnKind, name: str, digest: str, err: UploadError,
                generated_at: dt.datetime | None) -> DQReport:
    """A failed DQ report for a file that could not be read at all."""
    return DQReport(
        kind=kind.key, kind_title=kind.title, file_name=name, sha256=digest,
        verdict="fail", row_count=0, generated_at=generated_at or dt.datetime.now(dt.UTC),
        checks=[CheckResult(id=err.code, description="The file can be read",
                            severity="fail", status="fail", evaluated=1, offending=1,
                            message=err.problem, fix=err.fix)],
    )


def load_typed(source: bytes | str | Path, kind: ReturnKind | str, *,
               file_name: str | None = None) -> pd.DataFrame:
    """Typed values of an accepted return, e.g. staff in post as context for vacancies."""
    table = read_return(source, kind, file_name=file_name)
    typed = prepare(table).typed
    for col in table.kind.columns:
        if col.name in typed and isinstance(typed[col.name].dtype, pd.CategoricalDtype):
            # Codes as Python strings (as analysis has always had them), free text as ``str``.
            typed[col.name] = typed[col.name].astype(object if col.dtype == "code" else "str")
    return typed
