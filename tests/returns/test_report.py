"""The DQ report renders for people (HTML, email text) and round-trips through JSON."""

from __future__ import annotations

import datetime as dt
import json

from plancycle.returns import DQReport, validate_upload

from .builders import sip_rows, to_csv

WHEN = dt.datetime(2025, 4, 14, 9, 30, tzinfo=dt.UTC)


def failing_report() -> DQReport:
    rows = sip_rows()
    rows[1]["wte"] = "2"
    rows[2]["staff_group"] = "Nursing <b>"
    return validate_upload(to_csv(rows), "staff_in_post", file_name="sip <march>.csv",
                           generated_at=WHEN)


def test_report_round_trips_through_json():
    report = failing_report()
    data = json.loads(json.dumps(report.to_dict()))
    again = DQReport.from_dict(data)
    assert again == report
    assert data["generated_at"] == "2025-04-14T09:30:00+00:00"


def test_html_report_lists_failures_first_with_rows_and_fixes():
    html = failing_report().to_html()
    assert "<h1>Data quality report: Staff in post</h1>" in html
    assert "Verdict: <span class=\"status status-fail\">FAIL</span>" in html
    assert "Resubmission required" in html
    assert "<th scope=\"row\">3</th><td>2</td>" in html  # row 3, wte 2
    assert "How to fix:</strong> wte must be a number from 0 to 1.5" in html
    assert "Nursing &lt;b&gt;" in html and "sip &lt;march&gt;.csv" in html  # escaped
    assert html.index("What to fix") < html.index("All checks")
    assert html.count("<tr>") > 30  # every check listed in the summary table


def test_text_summary_is_plain_and_short():
    text = failing_report().to_text()
    assert text.startswith("Data quality report: Staff in post\nFile: sip <march>.csv (6 data")
    assert "Verdict: FAIL - Resubmission required" in text
    assert "[FAIL] wte is from 0 to 1.5 (range.wte)" in text
    assert "  - row 3: wte=2" in text
    assert "Checked: 14 April 2025 09:30 UTC" in text
    assert "<" not in text.replace("sip <march>", "").replace("Nursing <b>", "")


def test_passing_report_says_accepted():
    report = validate_upload(to_csv(sip_rows()), "staff_in_post", file_name="ok.csv",
                             generated_at=WHEN)
    assert report.accepted and report.verdict == "pass"
    assert "Accepted: all checks passed." in report.to_text()
    assert "What to fix" not in report.to_html()
