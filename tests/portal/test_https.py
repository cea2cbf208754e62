"""Behind a TLS-terminating proxy: Secure cookies, HSTS, and forwarded headers believed only
from the configured proxy (the in-process client's address is "testclient")."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from plancycle.cli import app as cli_app
from plancycle.cli.common import UserError
from plancycle.portal import PortalSettings, create_app
from plancycle.portal.settings import trusted_proxies
from plancycle.register.models import AuditEntry

from .helpers import PLANNER_TOKEN, csrf_of, link

HTTPS = "https://workforce-portal.riverside.nhs.uk"


def portal(runtime, **settings) -> TestClient:  # type: ignore[no-untyped-def]
    app = create_app(runtime, PortalSettings(planner_token=PLANNER_TOKEN, **settings))
    return TestClient(app, base_url=HTTPS, follow_redirects=False)


def planner_login(client: TestClient, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    page = client.get("/planner/login", headers=headers)
    return client.post("/planner/login", headers=headers,
                       data={"csrf_token": csrf_of(page.text), "token": PLANNER_TOKEN})


def test_on_https_cookies_are_secure_and_hsts_is_sent(runtime):
    with portal(runtime, public_url=HTTPS) as client:
        first = client.get(link(runtime, "helen.shaw", "confirm_exec_sponsor"))
        assert first.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert "secure" in first.headers["set-cookie"].lower()
        login = planner_login(client)
        assert login.status_code == 303
        assert "pc_planner=" in login.headers["set-cookie"]
        assert "secure" in login.headers["set-cookie"].lower()
        for path in ("/", "/static/portal.css", "/t/forged", "/nothing"):
            assert "strict-transport-security" in client.get(path).headers, path


def test_on_plain_http_there_is_no_hsts_and_no_secure_flag(runtime):
    with portal(runtime, public_url="http://127.0.0.1:8000") as client:
        first = client.get(link(runtime, "helen.shaw", "confirm_exec_sponsor"))
        assert "strict-transport-security" not in first.headers
        assert "secure" not in first.headers["set-cookie"].lower()


def test_forwarded_addresses_are_believed_only_from_the_configured_proxy(runtime):
    def failures_until_blocked(client: TestClient, forwarded_for: str) -> int:
        for i in range(20):
            response = client.get(f"/t/forged-{i}", headers={"X-Forwarded-For": forwarded_for})
            if response.status_code == 429:
                return i
        return 20

    # Through the proxy: each person behind it has their own budget of bad links.
    with portal(runtime, public_url=HTTPS, trusted_proxies=("testclient",)) as client:
        assert failures_until_blocked(client, "203.0.113.7") == 10
        assert client.get("/t/forged", headers={"X-Forwarded-For": "203.0.113.8"}
                          ).status_code == 403  # someone else: not blocked
        login = planner_login(client, {"X-Forwarded-For": "198.51.100.4",
                                       "X-Forwarded-Proto": "https"})
        assert login.status_code == 303
    # Not from the proxy: the header is ignored, so rotating it does not evade the limit.
    with portal(runtime, public_url=HTTPS) as client:
        for i in range(10):
            client.get(f"/t/forged-{i}", headers={"X-Forwarded-For": f"192.0.2.{i}"})
        assert client.get("/t/forged", headers={"X-Forwarded-For": "192.0.2.99"}
                          ).status_code == 429
    with runtime.register.session() as session:
        logins = [e.after["client"] for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "login"))]
    assert logins == ["198.51.100.4"]


def test_trusted_proxies_must_be_addresses(monkeypatch):
    assert trusted_proxies("10.0.0.5, 10.1.0.0/16") == ("10.0.0.5", "10.1.0.0/16")
    assert trusted_proxies(None) == ()
    for bad, says in (("*", "any client"), ("proxy.internal", "not an IP address")):
        with pytest.raises(ValueError, match=says):
            trusted_proxies(bad)
    monkeypatch.setenv("PLANCYCLE_TRUSTED_PROXIES", "*")
    result = CliRunner().invoke(cli_app, ["portal"])
    assert isinstance(result.exception, UserError)
    assert "PLANCYCLE_TRUSTED_PROXIES" in str(result.exception)


def test_the_deployment_warnings_name_what_to_set():
    token_only = PortalSettings(planner_token="t", public_url=HTTPS)
    said = " ".join(token_only.warnings())
    assert "for local use and the demo only" in said and "PLANCYCLE_TRUSTED_PROXIES" in said
    proxied = PortalSettings(public_url=HTTPS, trusted_proxies=("10.0.0.5",))
    assert proxied.warnings() == []
