"""Organisational sign-in end to end against a real OpenID Connect provider on loopback.

The portal reads the provider's discovery document and JWKS, sends the browser to its
authorisation endpoint with PKCE, exchanges the code at its token endpoint and validates the
ID token, all over HTTP as it would with Entra ID. The browser's part (following redirects,
filling the provider's sign-in form) is played with httpx against the provider and the
portal's test client.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import RSAKey
from sqlalchemy import select
from typer.testing import CliRunner

from plancycle.assignments import find_task
from plancycle.cli import app as cli_app
from plancycle.cli.common import UserError
from plancycle.config import load_config, parse_config
from plancycle.portal import PortalSettings, create_app
from plancycle.portal.settings import ENTRA_DISCOVERY, OidcSettings
from plancycle.register.models import AuditEntry, Cycle, Decision

from .helpers import (
    CYCLE,
    PLANNER_TOKEN,
    SAMPLE,
    assignment_id,
    confirm_decision,
    csrf_for,
)
from .oidc_provider import CLIENT_ID, CLIENT_SECRET, Directory, Provider

PORTAL = "http://testserver"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    directory = Directory()
    for person in load_config(SAMPLE).people:
        if person.email:
            directory.add(person.email, person.name)
    directory.add("stranger@elsewhere.nhs.uk", "Sam Stranger")
    idp = Provider(now=lambda: 0.0, directory=directory).start()
    yield idp
    idp.stop()


@pytest.fixture
def idp(provider: Provider, clock) -> Provider:  # type: ignore[no-untyped-def]
    """The provider on this test's clock, behaving."""
    provider.now = lambda: clock.now().timestamp()
    provider.audience, provider.lifetime, provider.signing_key = None, 3600, None
    return provider


def oidc_portal(runtime, idp: Provider) -> TestClient:  # type: ignore[no-untyped-def]
    settings = PortalSettings(
        planner_token=PLANNER_TOKEN, public_url=PORTAL,
        oidc=OidcSettings(discovery_url=idp.discovery_url, client_id=CLIENT_ID,
                          client_secret=CLIENT_SECRET))
    return TestClient(create_app(runtime, settings), base_url=PORTAL, follow_redirects=False)


def sign_in(client: TestClient, idp: Provider, email: str, start: str = "/planner"
            ) -> httpx.Response:
    """What a browser does: portal → provider's form → provider → portal's callback."""
    first = client.get(start)
    while first.status_code == 303 and not first.headers["location"].startswith("http"):
        first = client.get(first.headers["location"])
    assert "location" in first.headers, first.text
    to_provider = first.headers["location"]
    assert to_provider.startswith(f"{idp.issuer}/authorize?"), to_provider
    with httpx.Client(timeout=10) as browser:
        form = browser.get(to_provider)
        assert form.status_code == 200, form.text
        fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.text))
        back = browser.post(f"{idp.issuer}/authorize", data={**fields, "email": email})
    assert back.status_code == 302, back.text
    callback = back.headers["location"]
    assert callback.startswith(f"{PORTAL}/signin/callback?")
    return client.get(callback.removeprefix(PORTAL))


def audits(runtime, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with runtime.register.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_the_planner_signs_in_with_pkce_reaches_the_dashboard_and_signs_out(runtime, idp):
    with oidc_portal(runtime, idp) as client:
        assert client.get("/planner").headers["location"] == "/signin?next=%2Fplanner"
        back = sign_in(client, idp, "amira.khan@riverside.nhs.uk")
        assert back.status_code == 303 and back.headers["location"] == "/planner"
        assert "pc_session=" in back.headers["set-cookie"]
        asked = idp.authorize_requests[-1]
        assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
        assert asked["redirect_uri"] == f"{PORTAL}/signin/callback"
        exchanged = idp.token_requests[-1]
        assert exchanged["grant_type"] == "authorization_code" and exchanged["code_verifier"]
        assert idp.discovery_reads >= 1   # read over HTTP, as from Entra ID

        to_cycle = client.get("/planner")
        assert to_cycle.headers["location"] == f"/planner/cycles/{CYCLE}"
        dashboard = client.get(to_cycle.headers["location"])
        assert dashboard.status_code == 200 and "Signed in as Amira Khan" in dashboard.text
        # The shared token is off while people can sign in by name.
        login = client.get("/planner/login")
        assert login.headers["location"].startswith("/signin")
        assert client.post("/planner/login", data={"token": PLANNER_TOKEN}).status_code == 403

        signout = re.search(r'name="signout_token" value="([0-9a-f]+)"', dashboard.text)
        bye = client.post("/signout", data={"signout_token": signout.group(1)})
        assert bye.status_code == 303
        end = urlsplit(bye.headers["location"])
        assert f"{end.scheme}://{end.netloc}{end.path}" == f"{idp.issuer}/logout"
        hint = parse_qs(end.query)
        assert hint["post_logout_redirect_uri"] == [f"{PORTAL}/signed-out"]
        assert hint["client_id"] == [CLIENT_ID]
        with httpx.Client() as browser:
            landed = browser.get(bye.headers["location"])
        assert landed.headers["location"] == f"{PORTAL}/signed-out"
        assert idp.logouts[-1]["client_id"] == CLIENT_ID
        assert "You have signed out" in client.get("/signed-out").text
        assert client.get(f"/planner/cycles/{CYCLE}").headers["location"].startswith("/signin")

    signed_in = audits(runtime, "sign_in")[-1]
    assert signed_in.after["identity"]["email"] == "amira.khan@riverside.nhs.uk"
    assert signed_in.after["identity"]["oid"] and signed_in.after["people"] == [
        f"{CYCLE}:amira.khan"]
    assert audits(runtime, "sign_out")[-1].after["identity"]["email"] == \
        "amira.khan@riverside.nhs.uk"


def test_someone_who_is_not_the_planner_is_refused_the_dashboard(runtime, idp):
    with oidc_portal(runtime, idp) as client:
        assert sign_in(client, idp, "helen.shaw@riverside.nhs.uk").status_code == 303
        refused = client.get(f"/planner/cycles/{CYCLE}")
        assert refused.status_code == 403
        assert "helen.shaw@riverside.nhs.uk" in refused.text
        assert "Amira" not in client.get("/planner").text  # no cycle of theirs listed
    refusal = audits(runtime, "planner_refused")[0]
    assert refusal.actor == "signin:helen.shaw@riverside.nhs.uk"
    assert refusal.after["identity"]["email"] == "helen.shaw@riverside.nhs.uk"


@pytest.mark.parametrize(("knob", "value", "reason"), [
    ("audience", "another-application", "wrong_audience"),
    ("lifetime", -600, "expired"),
    ("signing_key", "forger", "bad_signature"),
])
def test_an_id_token_for_another_application_expired_or_forged_is_refused(
        runtime, idp, knob, value, reason):
    if value == "forger":  # a key of the same kid shape that the provider never published
        value = RSAKey.generate_key(2048, parameters={"kid": idp.key.kid}, private=True)
    setattr(idp, knob, value)
    with oidc_portal(runtime, idp) as client:
        refused = sign_in(client, idp, "amira.khan@riverside.nhs.uk")
        assert refused.status_code == 403
        assert "pc_session" not in refused.headers.get("set-cookie", "")
        assert client.get("/planner").headers["location"].startswith("/signin")
    audit = audits(runtime, "sign_in_refused")[-1]
    assert audit.after["reason"] == reason
    if reason == "bad_signature":  # nothing of an unverified token is believed
        assert audit.after["claims"] is None and audit.after["identity"] is None
    else:
        assert audit.after["claims"]["email"] == "amira.khan@riverside.nhs.uk"
    assert not audits(runtime, "sign_in")


def test_forged_callbacks_replayed_codes_and_unknown_people_are_refused(runtime, idp):
    with oidc_portal(runtime, idp) as client:
        # A callback that did not start here (no pending sign-in, or another state).
        assert client.get("/signin/callback?code=x&state=y").status_code == 403
        client.get("/signin?next=/planner")
        assert client.get("/signin/callback?code=x&state=forged").status_code == 403
        # The provider's own error is shown, not a traceback.
        denied = client.get("/signin/callback?error=access_denied&error_description=No")
        assert denied.status_code == 403 and "The sign-in service said: No" in denied.text
        # Someone the provider knows but the cycle does not.
        stranger = sign_in(client, idp, "stranger@elsewhere.nhs.uk")
        assert stranger.status_code == 403
        assert "nobody with that identity is in the planning cycle" in stranger.text
        # Only local next= paths: never an open redirect.
        away = client.get("/signin?next=//evil.example/x")
        assert "pc_signin=" in away.headers["set-cookie"]
    reasons = [a.after["reason"] for a in audits(runtime, "sign_in_refused")]
    assert reasons == ["state", "state", "provider:access_denied", "unknown_person"]


def test_a_gate_that_asks_for_sign_in_takes_only_its_approver(runtime, idp, gate):
    with runtime.register.session(actor="setup") as session:
        task = find_task(session, CYCLE, "executive_gate")
        task.settings = {**task.settings, "gate": {**task.settings["gate"], "sign_in": True}}
    helen = gate["helen"]
    with oidc_portal(runtime, idp) as client:
        first = client.get(f"{helen}/approve")
        assert first.status_code == 303
        assert first.headers["location"].startswith("/signin?next=%2Ft%2F")
        assert client.get(f"{helen}/document").status_code == 303
        # Priya has Helen's link but signs in as herself: refused, audited.
        assert sign_in(client, idp, "priya.nair@riverside.nhs.uk",
                       start=f"{helen}/approve").status_code == 303
        wrong = client.get(f"{helen}/approve")
        assert wrong.status_code == 403 and "signed in as priya.nair" in wrong.text
    with oidc_portal(runtime, idp) as client:
        back = sign_in(client, idp, "helen.shaw@riverside.nhs.uk", start=f"{helen}/approve")
        assert back.headers["location"] == f"{helen}/approve"
        page = client.get(f"{helen}/approve")
        assert page.status_code == 200 and "Signed in as Helen Shaw" in page.text
        done = confirm_decision(client, helen, sha=gate["sha"], verdict="approve",
                                signature="Helen Shaw")
        assert done.status_code == 303
    refusal = audits(runtime, "approval_refused")[0]
    assert refusal.after["identity"]["email"] == "priya.nair@riverside.nhs.uk"
    assert refusal.after["link_for"] == "helen.shaw"
    decided = audits(runtime, "decide")[0]
    assert decided.after["identity"]["email"] == "helen.shaw@riverside.nhs.uk"
    with runtime.register.session() as session:
        assert session.scalars(select(Decision)).one().signature == "Helen Shaw"


def test_without_sign_in_a_gate_that_asks_for_it_is_closed(client, runtime, gate):
    with runtime.register.session(actor="setup") as session:
        task = find_task(session, CYCLE, "executive_gate")
        task.settings = {**task.settings, "gate": {**task.settings["gate"], "sign_in": True}}
    page = client.get(f"{gate['helen']}/approve")
    assert page.status_code == 503 and "no sign-in configured" in page.text
    token = csrf_for(client, "helen.shaw", assignment_id(runtime, "helen.shaw", "executive_gate"))
    posted = client.post(f"{gate['helen']}/approve", data={
        "csrf_token": token, "document_sha256": gate["sha"], "verdict": "approve",
        "signature": "Helen Shaw", "step": "confirm"})
    assert posted.status_code == 503
    with runtime.register.session() as session:
        assert session.scalars(select(Decision)).first() is None


def test_sign_in_is_set_per_gate_in_the_cycle_yaml():
    text = SAMPLE.read_text().replace("on_reject_reopen: draft_plan}",
                                      "on_reject_reopen: draft_plan, sign_in: true}", 1)
    config = parse_config(text, file="trust_annual_cycle.yaml")
    gates = {t.id: t.gate.sign_in for _, t in config.tasks() if t.gate}
    assert gates == {"executive_gate": True, "board_gate": False}


def test_entra_id_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PLANCYCLE_OIDC_TENANT", "37c354b2-85b0-47f5-b222-07b48d774ee3")
    monkeypatch.setenv("PLANCYCLE_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("PLANCYCLE_OIDC_CLIENT_SECRET", "from-the-vault")
    oidc = OidcSettings.from_env()
    assert oidc.discovery_url == ENTRA_DISCOVERY.format(
        tenant="37c354b2-85b0-47f5-b222-07b48d774ee3")
    assert oidc.client_secret == "from-the-vault" and "from-the-vault" not in repr(oidc)
    monkeypatch.delenv("PLANCYCLE_OIDC_TENANT")
    monkeypatch.setenv("PLANCYCLE_OIDC_DISCOVERY_URL", "http://idp.example/.well-known/x")
    with pytest.raises(ValueError, match="must use https"):
        OidcSettings.from_env()
    monkeypatch.delenv("PLANCYCLE_OIDC_DISCOVERY_URL")
    result = CliRunner().invoke(cli_app, ["portal"])   # the client id alone: named, no trace
    assert isinstance(result.exception, UserError)
    assert "PLANCYCLE_OIDC_TENANT" in str(result.exception)


def pin_object_id(runtime, person: str, oid: str) -> None:  # type: ignore[no-untyped-def]
    """As if the cycle YAML gave ``person`` an ``object_id`` (what start_cycle stores)."""
    with runtime.register.session(actor="setup") as session:
        cycle = session.get(Cycle, CYCLE)
        plain = re.sub(r"object_id: [^,]+, ", "", cycle.config_text)
        text = plain.replace(f"{{id: {person}, ", f"{{id: {person}, object_id: {oid}, ", 1)
        assert text != plain
        cycle.config_text, cycle.config_sha256 = text, hashlib.sha256(text.encode()).hexdigest()


def test_the_object_id_in_the_yaml_decides_who_someone_is(runtime, idp):
    oid = idp.directory.users["helen.shaw@riverside.nhs.uk"][0]
    pin_object_id(runtime, "helen.shaw", "00000000-0000-0000-0000-000000000001")
    with oidc_portal(runtime, idp) as client:   # her address, but another account: refused
        refused = sign_in(client, idp, "helen.shaw@riverside.nhs.uk")
        assert refused.status_code == 403
    pin_object_id(runtime, "helen.shaw", oid)
    idp.directory.users["helen.shaw@nhs.net"] = (oid, "Helen Shaw")  # same account, new address
    try:
        with oidc_portal(runtime, idp) as client:
            assert sign_in(client, idp, "helen.shaw@nhs.net").status_code == 303
    finally:
        del idp.directory.users["helen.shaw@nhs.net"]
    assert audits(runtime, "sign_in_refused")[-1].after["reason"] == "unknown_person"
    assert audits(runtime, "sign_in")[-1].after["people"] == [f"{CYCLE}:helen.shaw"]
