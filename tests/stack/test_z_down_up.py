"""``stack down`` stops everything; ``stack up`` brings the same stack back, data intact.

Runs last (the file name): it stops the session's stack and starts it again.
"""

from __future__ import annotations

from sqlalchemy import create_engine, text

from plancycle.stack.home import port_in_use
from tests.stack.conftest import _options


def _cycles(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM cycles")).scalar()
    engine.dispose()
    return count


def test_down_stops_every_part_and_up_brings_the_stack_back(stack, on_stack):
    on_stack("down-up")
    url = stack.env()["PLANCYCLE_DATABASE_URL"]
    cycles = _cycles(url)
    home = stack.stack.home
    pids = dict(home.state()["pids"])
    ports = dict(home.state()["ports"])

    stopped = stack.stack.down(echo=lambda _: None)
    assert set(stopped) >= {"postgres", "prefect-server", "portal", "worker-1", "worker-2"}
    assert not any(stack.stack.running(part) for part in pids)
    assert not stack.stack.postgres.running()
    for part in ("postgres", "prefect", "portal"):
        assert not port_in_use(ports[part]), part
    assert not [row.part for row in stack.stack.status() if row.ok]

    stack.stack.up(_options(), echo=lambda _: None)
    assert home.state()["ports"] == ports  # the same URLs as before
    assert _cycles(url) == cycles
    assert all(row.ok for row in stack.stack.status()), stack.stack.status()
