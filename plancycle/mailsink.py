"""A local SMTP server that writes every message it receives to a folder (demo, dev).

It lets the demo send real email through the real Apprise/SMTP path without a mail
provider: each message lands in ``<folder>/<n>-<recipient>.eml`` for a newcomer to open.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MailSink:
    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.count = 0
        self._controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        to = re.sub(r"[^A-Za-z0-9@._-]", "_", ",".join(envelope.rcpt_tos))[:80]
        data = envelope.original_content or envelope.content
        (self.folder / f"{self.count:05d}-{to}.eml").write_bytes(
            data if isinstance(data, bytes) else data.encode())
        return "250 Message accepted for delivery"

    def start(self) -> MailSink:
        from aiosmtpd.controller import Controller

        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def apprise_url(self) -> str:
        return (f"mailto://127.0.0.1:{self.port}?from=workforce.planning@riverside.nhs.uk"
                "&name=Workforce%20Planning&mode=insecure")
