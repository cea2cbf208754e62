"""Given an analysis, the plan document has every Appendix F section, the Annex B tables, the
charts and the signature slots, and the same inputs always give the same HTML hash."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import pypdf
import pytest

from plancycle.analysis import ActionItem
from plancycle.documents import (
    SECTION_HEADINGS,
    PlanContext,
    Signature,
    render_exec_summary,
    render_plan,
)
from plancycle.documents.plan import ANNEX_HEADINGS

CONTEXT = PlanContext(
    organisation_name="Example Hospitals NHS Trust",
    ics_name="Example Integrated Care System",
    local_context="We serve a mixed urban and rural population.\n\nHousing growth is planned.",
    it_information="ESR is the single source of staff data.",
)


def pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


@pytest.fixture(scope="module")
def plan(synthetic_analysis):
    return render_plan(synthetic_analysis, CONTEXT)


def test_the_pdf_has_every_appendix_f_heading_in_order(plan):
    assert plan.pdf.startswith(b"%PDF")
    text = pdf_text(plan.pdf)
    body = text[text.index(ANNEX_HEADINGS[-1]) + len(ANNEX_HEADINGS[-1]):]  # after contents
    positions = [body.find(h) for h in SECTION_HEADINGS]
    assert all(p >= 0 for p in positions), [h for h, p in zip(SECTION_HEADINGS, positions,
                                                              strict=True) if p < 0]
    assert positions == sorted(positions)
    for heading in ANNEX_HEADINGS:
        assert heading in body


def test_the_pdf_embeds_the_four_charts(plan):
    reader = pypdf.PdfReader(io.BytesIO(plan.pdf))
    images = [image for page in reader.pages for image in page.images]
    assert len(images) >= 4
    assert plan.html.count('src="data:image/png;base64,') == 4
    assert all(len(image.data) > 1000 for image in images)


def test_sections_carry_the_data_and_the_leads_words(plan, synthetic_analysis, synthetic_returns):
    text = pdf_text(plan.pdf)
    a = synthetic_analysis
    assert f"{a.current.headcount:,} people" in text
    assert "Train" in text and "Retain" in text and "Reform" in text            # 1.2
    assert "We serve a mixed urban and rural population." in text               # 1.3 from lead
    assert "ESR is the single source of staff data." in text                   # 1.9
    narrative = synthetic_returns["service_changes"]["narrative"].iloc[0]
    assert narrative[:60] in plan.html                                          # 1.5 narrative
    for caption in ("B.1a Headcount and WTE by staff group", "B.2 Skill mix",
                    "B.3a Vacancies by staff group", "B.4a Turnover by staff group",
                    "B.5 Bank and agency use by staff group", "Action plan matrix"):
        assert caption in text
    assert "Total (distinct people)" in text
    for column in ("Priority", "Timescale", "Responsible", "Support needed", "Resources",
                   "Measures of success"):
        assert column in text


def test_signature_page_has_a_slot_per_signatory_and_shows_recorded_decisions(
        synthetic_analysis):
    signed = dataclasses.replace(CONTEXT, signatures=[
        Signature(role="Chief Executive", name="Dr Ada Example", decision="Approved",
                  decided_at=dt.datetime(2026, 3, 20, 10, 30), document_hash="f" * 64)])
    doc = render_plan(synthetic_analysis, signed, pdf=False)
    assert "Dr Ada Example" in doc.html and "20 March 2026 10:30" in doc.html
    assert "f" * 64 in doc.html
    for role in ("Chief Executive", "Executive Sponsor (Director of Workforce)",
                 "Director of Finance", "Chair of the Board"):
        assert f'<div class="role">{role}</div>' in doc.html
    assert doc.html.count('class="signature"') == 4


def test_same_inputs_give_the_same_html_and_hash(synthetic_analysis, plan):
    again = render_plan(synthetic_analysis, CONTEXT, pdf=False)
    assert again.html == plan.html and again.sha256 == plan.sha256
    assert again.pdf == b""
    changed = render_plan(synthetic_analysis, dataclasses.replace(CONTEXT, version="Final"),
                          pdf=False)
    assert changed.sha256 != plan.sha256
    dated = render_plan(synthetic_analysis, dataclasses.replace(
        CONTEXT, issued_on=dt.date(2026, 3, 31)), pdf=False)
    assert "31 March 2026" in dated.html


def test_leads_actions_join_the_matrix(synthetic_analysis):
    extra = ActionItem(action="Open a staff nursery at the Main Hospital", priority="Low",
                       timescale="By March 2028", responsible="Director of Estates",
                       support_needed="Finance Lead", resources="£250k capital",
                       measures_of_success="Nursery open", source="Lead input")
    doc = render_plan(synthetic_analysis, dataclasses.replace(CONTEXT, lead_actions=[extra]),
                      pdf=False)
    assert "Open a staff nursery at the Main Hospital" in doc.html


def test_executive_summary_is_one_page(synthetic_analysis):
    summary = render_exec_summary(synthetic_analysis, CONTEXT)
    reader = pypdf.PdfReader(io.BytesIO(summary.pdf))
    assert len(reader.pages) == 1
    text = pdf_text(summary.pdf)
    assert "executive summary" in text and "Priority actions" in text
    assert "RAG ratings" in text


def test_a_chart_is_drawn_once_per_distinct_input_and_redrawn_when_its_data_changes(
        synthetic_analysis, monkeypatch):
    """The draft, the signed plan and the summary share drawings; new data draws anew."""
    from plancycle.documents import charts

    drawn: list[str] = []
    monkeypatch.setattr(charts, "_DRAWN", type(charts._DRAWN)())
    for name, (inputs_of, draw) in list(charts.CHARTS.items()):
        def counted(*inputs, _draw=draw, _name=name):
            drawn.append(_name)
            return _draw(*inputs)
        monkeypatch.setitem(charts.CHARTS, name, (inputs_of, counted))

    first = {name: charts.chart(name, synthetic_analysis) for name in charts.CHARTS}
    again = {name: charts.chart(name, synthetic_analysis) for name in charts.CHARTS}
    assert again == first
    assert sorted(drawn) == sorted(charts.CHARTS)

    months = synthetic_analysis.sickness.by_month.assign(
        rate_pct=synthetic_analysis.sickness.by_month["rate_pct"] + 1.0)
    changed = dataclasses.replace(
        synthetic_analysis, sickness=dataclasses.replace(synthetic_analysis.sickness,
                                                         by_month=months))
    redrawn = {name: charts.chart(name, changed) for name in charts.CHARTS}
    assert drawn.count("sickness_by_month") == 2
    assert len(drawn) == len(charts.CHARTS) + 1
    assert redrawn["sickness_by_month"] != first["sickness_by_month"]
    assert {k: v for k, v in redrawn.items() if k != "sickness_by_month"} == {
        k: v for k, v in first.items() if k != "sickness_by_month"}
