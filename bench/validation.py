"""Bench: full-suite validation of a 1.5M-row staff-in-post extract against hand-written pandas.

    .venv/bin/python bench/validation.py [--rows 1500000] [--seed 20250401]

Generates a seeded ESR-like extract with a sprinkling of errors (vectorised numpy), then in
the same process runs (a) ``plancycle.returns.validate_table`` – GX suite + Python rules +
DQ report – and (b) a hand-written vectorised pandas implementation of the same rules. It
checks both find the same offending counts, and prints the time ratio (target ≤ 3×) and the
peak resident memory of the process (target ≤ 2 GiB). Reading the file is not timed: an
extract this size is over the 50 MB upload limit, and both paths start from the same table.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plancycle.returns import codes  # noqa: E402
from plancycle.returns.kinds import get_kind  # noqa: E402
from plancycle.returns.reader import ReturnTable  # noqa: E402
from plancycle.returns.validate import validate_table, warm_up  # noqa: E402

KIND = get_kind("staff_in_post")


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(rows: int, seed: int) -> pd.DataFrame:
    """An extract of strings as the reader would produce, rows numbered from 2 like a file."""
    rng = np.random.default_rng(seed)

    def pick(values: list[str] | tuple[str, ...], p: np.ndarray | None = None) -> np.ndarray:
        return np.asarray(values, dtype=object)[rng.choice(len(values), rows, p=p)]

    wte_values = np.array([1.0, 1.0, 1.0, 0.8, 0.6, 0.5, 0.4, 0.53, 0.27, 0.93, 1.2])
    wte_idx = rng.integers(0, len(wte_values), rows)
    wte_text = np.array([f"{w:g}" for w in wte_values], dtype=object)[wte_idx]
    hours_text = np.array([f"{w * 37.5:g}" for w in wte_values], dtype=object)[wte_idx]
    starts = pd.date_range("1985-01-01", "2025-03-31", freq="D").strftime("%Y-%m-%d")
    ids = np.arange(rows)
    assignment = pd.Series(ids).map("{:08d}-1".format).to_numpy(dtype=object)
    person = pd.Series(ids // 1.15).astype(int).map("P{:08d}".format).to_numpy(dtype=object)
    ethnic = [*codes.ETHNIC_CATEGORIES, "A White British", "H Indian"]
    frame = pd.DataFrame({
        "assignment_id": assignment,
        "person_id": person,
        "org_code": pick(["RJE", "RRE", "RLY"]),
        "staff_group": pick(codes.STAFF_GROUPS),
        "job_role": pick(["Staff Nurse", "Consultant", "Healthcare Assistant", "Porter",
                          "Physiotherapist", "Administrator"]),
        "grade": pick(codes.GRADES),
        "wte": wte_text,
        "contracted_hours": hours_text,
        "age_band": pick(codes.AGE_BANDS),
        "gender": pick(codes.GENDERS),
        "ethnic_category": pick(ethnic),
        "start_date": np.asarray(starts, dtype=object)[rng.integers(0, len(starts), rows)],
        "cost_centre": pick([f"CC{n:04d}" for n in range(400)]),
        "service": pick(["Medicine", "Surgery", "Women & Children", "Community", "Estates"]),
        "location": pick(["Royal Stoke", "County Hospital", "Haywood", "Leek Moorlands"]),
    })
    # Errors a real extract has: out-of-range WTE, typos in codes, blanks, duplicates, text.
    n_bad = max(rows // 1000, 5)
    for column, value in [("wte", "1.8"), ("staff_group", "Nursing"), ("grade", "Band 10"),
                          ("org_code", None), ("contracted_hours", "37,5"),
                          ("start_date", "31/02/2019"), ("ethnic_category", "White")]:
        frame.loc[rng.choice(rows, n_bad, replace=False), column] = value
    dup = rng.choice(rows - 1, n_bad, replace=False)
    frame.loc[dup + 1, "assignment_id"] = frame.loc[dup, "assignment_id"].to_numpy()
    frame.index = pd.RangeIndex(2, rows + 2, name="row")
    return frame


# --- the hand-written reference -----------------------------------------------------------

def _dates(text: pd.Series) -> pd.Series:
    codes_, uniques = pd.factorize(text)
    u = pd.Series(np.asarray(uniques, dtype=object))
    parsed = pd.to_datetime(u, format="%Y-%m-%d", errors="coerce")
    for fmt in ("%d/%m/%Y", "%d-%b-%Y"):
        gaps = parsed.isna()
        parsed[gaps] = pd.to_datetime(u[gaps], format=fmt, errors="coerce")
    return parsed.reindex(codes_).set_axis(text.index)


def pandas_reference(frame: pd.DataFrame) -> dict[str, tuple[int, list[int]]]:
    """The staff-in-post rules written directly in pandas: check id → (offending, rows)."""
    out: dict[str, tuple[int, list[int]]] = {}

    def record(check_id: str, mask: pd.Series) -> None:
        rows = mask.index[mask.to_numpy(dtype=bool)]
        out[check_id] = (len(rows), [int(r) for r in rows[:20]])

    for col in KIND.columns:
        if col.name not in frame:
            continue
        text = frame[col.name]
        if col.required:
            record(f"not_null.{col.name}", text.isna())
        value = text
        if col.dtype == "float":
            value = pd.to_numeric(text, errors="coerce")
            record(f"type.{col.name}", text.notna() & value.isna())
        elif col.dtype == "date":
            value = _dates(text)
            record(f"type.{col.name}", text.notna() & value.isna())
        if col.codes is not None:
            allowed = ({s for s in codes.ETHNIC_SPELLINGS} if col.name == "ethnic_category"
                       else {c.lower() for c in col.codes})
            uniques = pd.Series(text.dropna().unique())
            bad = set(uniques[~uniques.str.lower().isin(allowed)])
            record(f"codes.{col.name}", text.isin(bad))
        if col.min is not None or col.max is not None:
            low = value < col.min if col.min is not None else False
            high = value > col.max if col.max is not None else False
            record(f"range.{col.name}", low | high)
        if col.unique:
            record(f"unique.{col.name}", text.notna() & text.duplicated(keep=False))
    record("cross.age_band_or_dob", frame["age_band"].isna())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_500_000)
    parser.add_argument("--seed", type=int, default=20250401)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each implementation, interleaved; the best time counts "
                             "(the first run of either pays for fresh memory pages)")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    warm_up()
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    frame = generate(args.rows, args.seed)
    t_gen = time.perf_counter() - t0
    rss_generated = peak_rss_mib()
    table = ReturnTable(kind=KIND, file_name="bench_staff_in_post.csv", frame=frame,
                        headers={c: c for c in frame.columns})

    pandas_times: list[float] = []
    suite_times: list[float] = []
    for _ in range(max(args.repeat, 1)):
        t0 = time.perf_counter()
        reference = pandas_reference(frame)
        pandas_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        report = validate_table(table)
        suite_times.append(time.perf_counter() - t0)
    t_pandas, t_suite = min(pandas_times), min(suite_times)
    rss_peak = peak_rss_mib()

    mismatches = []
    for check_id, (offending, rows) in reference.items():
        check = report.check(check_id)
        got_rows = [r.row for r in check.rows]
        if check.offending != offending or (got_rows and got_rows != rows[:len(got_rows)]):
            mismatches.append(f"{check_id}: suite {check.offending} {got_rows[:3]} vs "
                              f"pandas {offending} {rows[:3]}")

    failed = [c for c in report.checks if c.status != "pass"]
    print(f"rows: {args.rows:,}  seed: {args.seed}")
    print(f"GX import + context: {t_import:.1f} s (once per process, not in the ratio)")
    print(f"generate extract:    {t_gen:.1f} s, peak RSS after generation {rss_generated:,.0f} MiB")
    runs = ", ".join(f"{t:.2f}" for t in pandas_times)
    print(f"pandas reference:    {t_pandas:.2f} s best of [{runs}] ({len(reference)} checks)")
    runs = ", ".join(f"{t:.2f}" for t in suite_times)
    print(f"full validation:     {t_suite:.2f} s best of [{runs}] ({len(report.checks)} checks, "
          f"verdict {report.verdict}, {len(failed)} not passed)")
    ratio = t_suite / t_pandas
    print(f"ratio suite/pandas:  {ratio:.2f}x (target <= 3x) "
          f"{'OK' if ratio <= 3 else 'OVER TARGET'}")
    print(f"peak RSS:            {rss_peak:,.0f} MiB (target <= 2048 MiB) "
          f"{'OK' if rss_peak <= 2048 else 'OVER TARGET'}")
    print("same offending counts and rows as pandas: "
          + ("yes" if not mismatches else "NO\n  " + "\n  ".join(mismatches)))
    return 0 if not mismatches else 1


if __name__ == "__main__":
    raise SystemExit(main())
