"""Run many ``plancycle`` invocations in one Python process: the tests' fast path.

Every ``plancycle`` process spends about a second importing the app before it does anything,
so the tests that only look at what a command prints send their invocations here in one go.
Each invocation runs exactly as the console script does (``plancycle.cli.main`` with
``sys.argv`` and the environment set), with its stdout, stderr and exit code captured; an
uncaught exception prints its traceback and exits 1, as Python itself would.
``test_cli.py`` checks that this prints byte for byte what separate processes print.

Input on stdin: ``[{"args": [...], "env": {...}}, ...]``; output on stdout: a JSON list of
``{"args", "returncode", "stdout", "stderr"}``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback


def run_one(args: list[str], env: dict[str, str]) -> dict[str, object]:
    from plancycle.cli import main

    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["plancycle", *args]
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except BaseException:  # noqa: BLE001 - report it as the interpreter would
            traceback.print_exc()
            code = 1
    return {"args": args, "returncode": code, "stdout": out.getvalue(),
            "stderr": err.getvalue()}


def main() -> None:
    calls = json.load(sys.stdin)
    real_stdout = sys.stdout
    results = [run_one(call["args"], call["env"]) for call in calls]
    json.dump(results, real_stdout)


if __name__ == "__main__":
    main()
