"""Bench: full analysis + plan document for a 6,000-staff and a 60,000-staff trust.

    .venv/bin/python bench/analysis.py [--small 6000] [--large 60000] [--repeat 3] [--seed 0]

Generates both synthetic trusts (not timed), warms up once on a tiny trust so that one-off
imports (WeasyPrint, matplotlib's font cache) are not charged to either size, then in the same
process times, for each size, ``analyse`` and the documents (full plan HTML + PDF and the
one-page executive summary). Prints the median of ``--repeat`` runs, the large/small ratio of
analysis + documents (target ≤ 12× for 10× the staff) and the absolute document time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plancycle.analysis import analyse  # noqa: E402
from plancycle.documents import PlanContext, render_exec_summary, render_plan  # noqa: E402
from plancycle.synthetic import RETURN_KINDS, generate_trust  # noqa: E402

ACCEPTED = {kind: True for kind in RETURN_KINDS}
CONTEXT = PlanContext(organisation_name="Bench Hospitals NHS Trust", ics_name="Bench ICS")


def run_once(returns: dict) -> tuple[float, float, int]:
    """Seconds for the analysis and for both documents, and the plan's PDF size."""
    started = time.perf_counter()
    result = analyse(returns, ACCEPTED)
    analysed = time.perf_counter()
    plan = render_plan(result, CONTEXT)
    render_exec_summary(result, CONTEXT)
    documented = time.perf_counter()
    return analysed - started, documented - analysed, len(plan.pdf)


def measure(size: int, seed: int, repeat: int) -> dict[str, float]:
    started = time.perf_counter()
    returns = generate_trust(size=size, seed=seed)
    generated = time.perf_counter() - started
    runs = [run_once(returns) for _ in range(repeat)]
    analysis = statistics.median(r[0] for r in runs)
    document = statistics.median(r[1] for r in runs)
    return {"size": size, "rows": len(returns["staff_in_post"]), "generate": generated,
            "analysis": analysis, "document": document, "total": analysis + document,
            "pdf_bytes": runs[-1][2]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=6000)
    parser.add_argument("--large", type=int, default=60000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    warm = time.perf_counter()
    run_once(generate_trust(size=200, seed=args.seed))
    print(f"warm-up (imports, font cache, tiny trust): {time.perf_counter() - warm:6.2f} s")

    small = measure(args.small, args.seed, args.repeat)
    large = measure(args.large, args.seed, args.repeat)
    print(f"{'staff':>8} {'rows':>8} {'generate':>9} {'analysis':>9} {'document':>9} "
          f"{'total':>8} {'pdf KiB':>8}")
    for r in (small, large):
        print(f"{r['size']:>8,} {r['rows']:>8,} {r['generate']:>8.2f}s {r['analysis']:>8.2f}s "
              f"{r['document']:>8.2f}s {r['total']:>7.2f}s {r['pdf_bytes'] / 1024:>8.0f}")
    ratio = large["total"] / small["total"]
    print(f"ratio large/small (analysis + documents): {ratio:.2f}x "
          f"(target <= 12x for {args.large / args.small:.0f}x the staff)")
    print(f"document time (plan PDF + executive summary): small {small['document']:.2f} s, "
          f"large {large['document']:.2f} s")
    return 0 if ratio <= 12 else 1


if __name__ == "__main__":
    raise SystemExit(main())
