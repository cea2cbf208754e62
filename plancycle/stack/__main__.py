"""Two helpers of the stack's processes.

``python -m plancycle.stack mailsink --folder F --port P``: the stack's local mail sink, run
by ``plancycle stack up`` when no ``PLANCYCLE_EMAIL_URL`` is set, so the workers' email goes
through real SMTP into ``<stack home>/mail/*.eml`` instead of nowhere.

``python -m plancycle.stack secrets-env --out FILE``: on a host of a production stack, write
the secrets kept in Prefect Secret blocks (``plancycle-email-url`` → ``PLANCYCLE_EMAIL_URL``
…) into an environment file only its owner can read, for a systemd ``EnvironmentFile=`` (see
``deployments/systemd/``). Secrets stay out of git, YAML and the deployments' settings.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from plancycle.mailsink import MailSink

#: Prefect Secret block → the variable the product reads.
SECRET_BLOCKS = {
    "plancycle-database-url": "PLANCYCLE_DATABASE_URL",
    "plancycle-email-url": "PLANCYCLE_EMAIL_URL",
    "plancycle-chat-url": "PLANCYCLE_CHAT_URL",
    "plancycle-link-secret": "PLANCYCLE_LINK_SECRET",
    "plancycle-planner-token": "PLANCYCLE_PLANNER_TOKEN",
}


def secrets_env(out: Path) -> int:
    """Write the Secret blocks that exist (on the server ``PREFECT_API_URL`` names) to ``out``
    as ``NAME=value`` lines, mode 0600. Says which it found and which it did not."""
    import os

    from prefect.blocks.system import Secret
    from prefect.exceptions import ObjectNotFound

    lines, missing = [], []
    for block, variable in SECRET_BLOCKS.items():
        try:
            value = str(Secret.load(block).get())
        except (ObjectNotFound, ValueError):
            missing.append(block)
            continue
        if "\n" in value:
            raise SystemExit(f"Secret block {block!r} holds a line break: an environment "
                             f"file cannot carry it; store the value on one line")
        lines.append(f"{variable}={value}")
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("".join(f"{line}\n" for line in lines))
    os.chmod(out, 0o600)
    print(f"{out}: {len(lines)} secrets from Prefect Secret blocks"
          + (f"; no block {', '.join(missing)} (set it in the environment instead)"
             if missing else ""), flush=True)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m plancycle.stack")
    commands = parser.add_subparsers(dest="command", required=True)
    sink = commands.add_parser("mailsink", help="serve the local mail sink until stopped")
    sink.add_argument("--folder", type=Path, required=True)
    sink.add_argument("--port", type=int, required=True)
    env = commands.add_parser("secrets-env",
                              help="write the Prefect Secret blocks to an environment file")
    env.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "secrets-env":
        raise SystemExit(secrets_env(args.out))
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
