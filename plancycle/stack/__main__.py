"""``python -m plancycle.stack mailsink --folder F --port P``: the stack's local mail sink.

Run by ``plancycle stack up`` when no ``PLANCYCLE_EMAIL_URL`` is set, so the workers' email
goes through real SMTP into ``<stack home>/mail/*.eml`` instead of nowhere.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from plancycle.mailsink import MailSink


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m plancycle.stack")
    commands = parser.add_subparsers(dest="command", required=True)
    sink = commands.add_parser("mailsink", help="serve the local mail sink until stopped")
    sink.add_argument("--folder", type=Path, required=True)
    sink.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = MailSink(args.folder, args.port)
    args.folder.mkdir(parents=True, exist_ok=True)
    server.count = len(list(args.folder.glob("*.eml")))  # a restart does not overwrite mail
    server.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    print(f"mail sink on 127.0.0.1:{args.port}, writing to {args.folder}", flush=True)
    stopped.wait()
    server.stop()


if __name__ == "__main__":
    main()
