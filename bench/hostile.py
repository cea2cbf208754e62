"""Worst case over the hostile corpus: time to judge each file and peak RSS, one process per
file (so each file's memory is its own). ``python bench/hostile.py [kind ...]`` (default:
every return kind, the whole corpus — about 3 s a file, most of it importing GX).

Time is the judging (read + checks) after Great Expectations is imported; RSS is the whole
process's peak, imports included.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.hostile.generate import corpus, kind_headers  # noqa: E402

CHILD = """
import json, resource, sys, time
from plancycle.returns import warm_up
from plancycle.returns.validate import validate_upload
warm_up()
t = time.perf_counter()
report = validate_upload(sys.argv[1], sys.argv[2])
seconds = time.perf_counter() - t
flagged = [c.id for c in report.checks if c.status != "pass"]
print(json.dumps({"s": seconds, "mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "verdict": report.verdict, "check": flagged[:1]}))
"""


def main() -> None:
    headers = kind_headers()
    kinds = sys.argv[1:] or sorted(headers)
    with tempfile.TemporaryDirectory() as tmp:
        files = corpus(Path(tmp), {k: headers[k] for k in kinds})
        worst_s = worst_mb = (0.0, "")
        for kind, path in files:
            out = subprocess.run([sys.executable, "-c", CHILD, str(path), kind], cwd=ROOT,
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{kind:16} {path.name:24} {path.stat().st_size / 1e6:8.2f} MB "
                  f"{r['s']:6.2f} s {r['mb']:6.0f} MB  {r['verdict']} {r['check']}")
            worst_s = max(worst_s, (r["s"], f"{kind}/{path.name}"))
            worst_mb = max(worst_mb, (r["mb"], f"{kind}/{path.name}"))
    print(f"files judged: {len(files)}")
    print(f"worst time: {worst_s[0]:.2f} s ({worst_s[1]})  (target ≤ 5 s)")
    print(f"worst peak RSS: {worst_mb[0]:.0f} MB ({worst_mb[1]})  (target ≤ 500 MB)")


if __name__ == "__main__":
    main()
