"""DQ reports link to Great Expectations Data Docs of their validation run (#18.8).

Given Lucy's staff in post sent back for a wrong staff group, when she opens its DQ report in
the portal, then it links to GX's Data Docs of that run, stored with the upload, which show
the same failed expectation and the same count; and nobody who cannot see the report (another
role holder's link, a forged link) gets the Data Docs either.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from plancycle.portal import PortalSettings, create_app
from plancycle.register.models import DQResult, Upload
from plancycle.runtime import Runtime
from plancycle.uploads import data_docs_path
from tests.portal.helpers import link

from .conftest import upload

LUCY, TASK = "lucy.fernandes", "staff_in_post_return"


@pytest.fixture
def client(opened: Runtime):
    with TestClient(create_app(opened, PortalSettings(max_upload_bytes=8 << 20)),
                    follow_redirects=False) as test_client:
        yield test_client


def _stored(rt: Runtime, upload_id: int) -> tuple[Upload, dict]:
    with rt.register.session() as session:
        row = session.get(Upload, upload_id)
        result = session.scalar(select(DQResult).where(DQResult.upload_id == upload_id))
        return row, result.report


def test_the_dq_report_links_to_the_data_docs_of_its_run_for_those_who_see_it(
        opened, client, trust_files):
    outcome = upload(opened, TASK, LUCY, trust_files["staff_in_post_broken"])
    assert outcome.verdict == "fail"
    row, report = _stored(opened, outcome.upload_id)
    docs = data_docs_path(row)
    assert docs.is_file() and docs.parent == Path(row.stored_path).parent  # kept with it

    lucy = link(opened, LUCY, TASK)
    page = client.get(f"{lucy}/uploads/{outcome.upload_id}")
    assert page.status_code == 200
    href = f"{lucy}/uploads/{outcome.upload_id}/data-docs"
    assert f'href="{href}"' in page.text

    served = client.get(href)
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/html")
    assert "sandbox" in served.headers["content-security-policy"]
    html = served.text
    assert "Expectation Validation Result" in html and "staff_in_post" in html
    assert "<script" not in html.lower()
    assert not re.search(r"""src=["']?https?://|<link""", html)   # nothing loaded from CDNs
    # The same run as the DQ report: the staff group check failed on the same rows.
    staff_group = next(c for c in report["checks"] if c["id"] == "codes.staff_group")
    assert staff_group["status"] == "fail"
    assert f"{staff_group['offending']} unexpected values found" in html

    # Rachel's link is for her own task: Lucy's upload (and its Data Docs) is not found.
    rachel = link(opened, "rachel.moore", "pay_budget_return")
    assert client.get(f"{rachel}/uploads/{outcome.upload_id}").status_code == 404
    refused = client.get(f"{rachel}/uploads/{outcome.upload_id}/data-docs")
    assert refused.status_code == 404 and "Expectation Validation Result" not in refused.text
    forged = client.get(f"/t/{'x' * 40}/uploads/{outcome.upload_id}/data-docs")
    assert forged.status_code in (403, 404)
    assert "Expectation Validation Result" not in forged.text


def test_an_unreadable_file_has_no_data_docs_and_the_portal_says_why(opened, client, home):
    garbage = home / "staff_in_post.csv"
    garbage.write_text("this is not a return\n")
    outcome = upload(opened, TASK, LUCY, garbage)
    assert outcome.verdict == "fail"
    row, _report = _stored(opened, outcome.upload_id)
    assert not data_docs_path(row).exists()
    lucy = link(opened, LUCY, TASK)
    page = client.get(f"{lucy}/uploads/{outcome.upload_id}")
    assert page.status_code == 200 and "/data-docs" not in page.text
    missing = client.get(f"{lucy}/uploads/{outcome.upload_id}/data-docs")
    assert missing.status_code == 404
    assert "Great Expectations did not run on this file" in missing.text
