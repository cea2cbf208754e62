"""Render the workforce plan (Appendix F outline 1.1–1.12 with Annexes B–G) to HTML and PDF.

Why: the plan is what the board signs and the ICS receives. It is rendered from one
``WorkforceAnalysis`` plus a ``PlanContext`` (names, local text and signatures) through Jinja2
templates in ``templates/plan/``; the CSS is inlined and charts are embedded as data URIs, so
the HTML is one self-contained file. Nothing time-dependent is added unless passed in, so the
same inputs give the same HTML and the same ``sha256`` (the hash signatories sign against).
The PDF is made by WeasyPrint, imported only when a PDF is asked for; its bytes are also
reproducible when ``SOURCE_DATE_EPOCH`` is set (font subsetting otherwise stamps the time).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from plancycle.analysis.actions import ActionItem, fy_label
from plancycle.analysis.demand import SCENARIOS
from plancycle.analysis.plan import WorkforceAnalysis
from plancycle.analysis.rag import LABELS, MEANING, RagRating
from plancycle.documents import tables as t
from plancycle.documents.charts import LazyCharts
from plancycle.documents.template_view import template_view
from plancycle.returns import codes

#: Default location of the plan templates (repository ``templates/plan``).
TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "plan"

#: Appendix F headings, exactly as they appear in the document.
SECTION_HEADINGS: tuple[str, ...] = (
    "1.1 Executive summary",
    "1.2 National policy context",
    "1.3 Local context",
    "1.4 Current workforce",
    "1.5 Strategic service plan",
    "1.6 Future service models and workforce",
    "1.7 Recruitment, retention and returners",
    "1.8 Education and training",
    "1.9 IT and information",
    "1.10 Action plan",
    "1.11 Summary",
    "1.12 Signatures",
)
ANNEX_HEADINGS: tuple[str, ...] = (
    "Annex B – The current workforce",
    "Annex D – Future workforce: supply, demand and gap",
    "Annex E – Recruitment, retention and returners",
    "Annex F – Education and training",
    "Annex G – Action plan",
)
DEFAULT_SIGNATORIES: tuple[str, ...] = (
    "Chief Executive",
    "Executive Sponsor (Director of Workforce)",
    "Director of Finance",
    "Chair of the Board",
)


@dataclass(frozen=True)
class Signature:
    """One signatory's slot; unset fields print as blank lines to sign on paper."""

    role: str
    name: str | None = None
    decision: str | None = None
    decided_at: dt.datetime | dt.date | None = None
    document_hash: str | None = None


@dataclass(frozen=True)
class PlanContext:
    """What the data cannot say: names, the local story and who signs."""

    organisation_name: str
    ics_name: str | None = None
    title: str = "Workforce Plan"
    version: str = "Draft for board approval"
    issued_on: dt.date | None = None
    prepared_by: str = "Workforce Planner (Trust)"
    #: Section 1.3 text; paragraphs separated by blank lines. Generated from data if None.
    local_context: str | None = None
    #: Section 1.9 text on IT capacity and information systems.
    it_information: str | None = None
    #: Section 1.11.1 review of the previous year. Generated from the RAG ratings if None.
    previous_year_review: str | None = None
    #: Extra Annex G rows supplied by leads, added after the generated actions.
    lead_actions: Sequence[ActionItem] = ()
    #: Recorded decisions; roles in ``signatories`` without one get an empty slot.
    signatures: Sequence[Signature] = ()
    signatories: Sequence[str] = DEFAULT_SIGNATORIES
    extra: dict[str, str] = field(default_factory=dict)
    #: How the text names the organisation planned for ("the trust"; "the system" for an ICS).
    organisation_noun: str = "the trust"
    #: The workforce plan template submitted with the plan (Annex D shows it) and its hash.
    template: Any = None
    template_sha256: str | None = None
    #: System plans only: a page per organisation and the system template (``SystemView``).
    system: Any = None


@dataclass(frozen=True)
class PlanDocument:
    """Rendered plan: self-contained HTML, PDF bytes (empty if not requested), HTML hash."""

    html: str
    pdf: bytes
    sha256: str

    @property
    def pdf_sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


def render_plan(
    analysis: WorkforceAnalysis,
    context: PlanContext,
    *,
    pdf: bool = True,
    template_dir: Path | None = None,
) -> PlanDocument:
    """The full plan: sections 1.1–1.12, Annexes B, D, E, F and G."""
    return _render("plan.html.j2", analysis, context, pdf, template_dir)


def render_exec_summary(
    analysis: WorkforceAnalysis,
    context: PlanContext,
    *,
    pdf: bool = True,
    template_dir: Path | None = None,
) -> PlanDocument:
    """A one-page executive summary for the board pack."""
    return _render("exec_summary.html.j2", analysis, context, pdf, template_dir)


def environment(template_dir: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment for plan templates (autoescaped, undefined names fail)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir or TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(("html", "j2", "xml")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["paragraphs"] = lambda s: [p.strip() for p in str(s).split("\n\n") if p.strip()]
    return env


def write_pdf(html: str) -> bytes:
    """HTML → PDF with WeasyPrint (imported here: it needs Pango and is slow to import)."""
    import weasyprint

    return weasyprint.HTML(string=html, base_url=str(TEMPLATE_DIR)).write_pdf()


def _render(template: str, analysis: WorkforceAnalysis, context: PlanContext, make_pdf: bool,
            template_dir: Path | None) -> PlanDocument:
    env = environment(template_dir)
    html = env.get_template(template).render(**build_view(analysis, context))
    return PlanDocument(
        html=html,
        pdf=write_pdf(html) if make_pdf else b"",
        sha256=hashlib.sha256(html.encode("utf-8")).hexdigest(),
    )


# --- the view model -------------------------------------------------------------------------


def _system_wording(actions: list[Any], noun: str) -> list[Any]:
    """Actions as a system plan words them: the ICS's workforce lead, not "(Trust)"."""
    if noun == "the trust":
        return actions
    def reword(text: object) -> object:
        if not isinstance(text, str):
            return text
        return (text.replace("Workforce Planner (Trust)", "ICS Workforce Lead")
                .replace("Trust academy", "organisations' academies"))
    return [dataclasses.replace(x, **{k: reword(v) for k, v in vars(x).items()
                                      if isinstance(v, str)}) for x in actions]


def build_view(analysis: WorkforceAnalysis, context: PlanContext) -> dict:
    """Everything the templates print, already formatted."""
    a = analysis
    fy = a.financial_year
    last_year = int(a.gap.totals["year"].max())
    headline = a.headline_scenario
    final_totals = a.gap.totals[a.gap.totals["year"] == last_year].set_index("scenario")
    final_cost = a.affordability.projection[a.affordability.projection["year"] == last_year] \
        .set_index("scenario")
    skill = a.current.skill_mix.set_index("skill_mix")["wte_pct"]
    actions = _system_wording(list(a.actions) + list(context.lead_actions),
                              context.organisation_noun)
    figures = {
        "headcount": t.count(a.current.headcount),
        "wte": t.wte(a.current.wte),
        "assignments": t.count(a.current.assignments),
        "part_time_pct": t.pct(a.current.part_time_pct),
        "female_pct": t.pct(_share(a.current.gender_profile, "gender", "Female")),
        "bme_pct": t.pct(a.current.bme_pct),
        "not_stated_pct": t.pct(a.current.ethnicity_not_stated_pct),
        "aged_55_pct": t.pct(a.current.aged_55_plus_pct),
        "aged_60_pct": t.pct(a.current.aged_60_plus_pct),
        "under_25_pct": t.pct(a.current.under_25_pct),
        "skill_mix": " / ".join(f"{skill.get(m, 0):.0f}" for m in
                                ("registered", "unregistered", "support")),
        "vacancy_wte": t.wte(a.vacancies.vacancy_wte),
        "vacancy_rate": t.pct(a.vacancies.rate_pct),
        "vacancy_month": a.vacancies.month,
        "turnover_rate": t.pct(a.turnover.rate_pct),
        "leavers": t.count(a.turnover.leavers_headcount),
        "retirements": t.count(a.turnover.retirements),
        "retirement_share": t.pct(a.turnover.retirement_share_pct),
        "sickness_rate": t.pct2(a.sickness.rate_pct),
        "sickness_peak": a.sickness.peak_month,
        "bank_wte": t.wte(a.temporary_staffing.bank_wte),
        "agency_wte": t.wte(a.temporary_staffing.agency_wte),
        "bank_spend": t.gbp(a.temporary_staffing.bank_spend_gbp),
        "agency_spend": t.gbp(a.temporary_staffing.agency_spend_gbp),
        "agency_share": t.pct(a.temporary_staffing.agency_share_pct),
        "pay_budget": t.gbp(a.affordability.pay_budget_gbp),
        "current_spend": t.gbp(a.affordability.current_spend_gbp),
        "current_over_pct": t.pct(a.affordability.current_over_budget_pct),
        "final_year": fy_label(fy, last_year - 1),
        "supply_now": t.wte(a.supply.totals()["supply_wte"].iloc[0]),
        "supply_final": t.wte(final_totals.loc[headline, "supply_wte"]),
        "demand_final": {s: t.wte(final_totals.loc[s, "demand_wte"]) for s in SCENARIOS
                         if s in final_totals.index},
        "gap_final": {s: t.signed_wte(final_totals.loc[s, "gap_wte"]) for s in SCENARIOS
                      if s in final_totals.index},
        "shortfall_final": {s: t.pct(final_totals.loc[s, "shortfall_pct"]) for s in SCENARIOS
                            if s in final_totals.index},
        "cost_final": {s: t.gbp(final_cost.loc[s, "demand_cost_gbp"]) for s in SCENARIOS
                       if s in final_cost.index},
        "over_budget_final": {s: t.pct(final_cost.loc[s, "over_budget_pct"]) for s in SCENARIOS
                              if s in final_cost.index},
        "data_period": f"{a.data_period[0]} to {a.data_period[1]}",
        "directions": a.trends.directions,
        "vacancy_hot_spots": [
            f"{r.staff_group} in {r.service} ({r.rate_pct:.1f}%, {r.vacancy_wte:,.1f} WTE)"
            for r in a.vacancies.hot_spots.head(5).itertuples(index=False)],
        "sickness_hot_spots": [f"{r.staff_group} ({r.rate_pct:.2f}%)"
                               for r in a.sickness.hot_spots.itertuples(index=False)],
        "retirement_hot_spots": [
            f"{r.staff_group} ({r.pct_55_plus:.0f}% aged 55+)"
            for r in a.current.retirement_risk.sort_values("pct_55_plus", ascending=False,
                                                           kind="stable")
            .head(3).itertuples(index=False)],
        "services": sorted(a.current.by_service["service"].astype(str)),
        "locations": sorted(a.current.by_location["location"].astype(str)),
        "apprenticeships": int(a.education["apprenticeship"].sum())
        if "apprenticeship" in a.education.columns else 0,
        "completers_total": t.count(a.education["expected_completers"].sum()),
    }
    return {
        "ctx": context,
        "org_code": a.org_code,
        "fy": fy,
        "fy_next": fy_label(fy, 1),
        "headline": headline,
        "scenarios": SCENARIOS,
        "f": figures,
        "rag": [_rag_row(r) for r in a.trust_ratings()],
        "rag_meaning": MEANING,
        "charts": LazyCharts(a),
        "tables": _tables(a),
        "assumptions": _assumptions(a),
        "narratives": _narratives(a.service_changes),
        "changes": _changes_table(a),
        "actions": [vars(x) for x in actions],
        "high_actions": [vars(x) for x in actions if x.priority == "High"],
        "action_counts": {p: sum(1 for x in actions if x.priority == p)
                          for p in ("High", "Medium", "Low")},
        "signatures": _signatures(context),
        "headings": SECTION_HEADINGS,
        "annexes": ANNEX_HEADINGS,
        "notes": list(a.notes),
        "issued_on": _when(context.issued_on),
        "noun": context.organisation_noun,
        "template": template_view(context.template, context.template_sha256),
        "system": context.system,
    }


def _share(frame: pd.DataFrame, column: str, value: str) -> float:
    row = frame[frame[column] == value]
    return float(row["pct"].iloc[0]) if len(row) else float("nan")


def _rag_row(r: RagRating) -> dict:
    return {"label": LABELS.get(r.measure, r.measure), "value": t.pct(r.value, 2 if
            r.measure == "sickness_pct" else 1), "status": r.status, "meaning": r.meaning,
            "green": f"≤ {r.green_max:g}%", "amber": f"≤ {r.amber_max:g}%"}


def _signatures(context: PlanContext) -> list[dict]:
    given = list(context.signatures)
    roles = {s.role for s in given}
    slots = given + [Signature(role=r) for r in context.signatories if r not in roles]
    out = []
    for s in slots:
        decided = _when(s.decided_at)
        out.append({"role": s.role, "name": s.name, "decision": s.decision,
                    "decided_at": decided, "document_hash": s.document_hash})
    return out


def _when(value: dt.datetime | dt.date | None) -> str | None:
    """``20 March 2026`` or ``20 March 2026 10:30`` (no locale, so output is stable)."""
    if value is None:
        return None
    months = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
    text = f"{value.day} {months[value.month - 1]} {value.year}"
    if isinstance(value, dt.datetime):
        text += f" {value:%H:%M}" + (f" {value.tzname()}" if value.tzinfo else "")
    return text


def _narratives(changes: pd.DataFrame) -> list[dict]:
    """Service leads' narrative text grouped by service, in the order submitted."""
    if "narrative" not in changes.columns:
        return []
    out: list[dict] = []
    for service, rows in changes.groupby("service", sort=False):
        texts = [str(x).strip() for x in rows["narrative"]
                 if isinstance(x, str) and x.strip()]
        if texts:
            out.append({"service": str(service),
                        "changes": list(dict.fromkeys(rows["change"].astype(str))),
                        "paragraphs": list(dict.fromkeys(texts))})
    return out


def _changes_table(a: WorkforceAnalysis) -> t.Table:
    frame = a.service_changes.copy()
    frame["plan_year"] = frame["start_year"].map(
        lambda y: f"Year {int(y)} ({fy_label(a.financial_year, int(y) - 1)})")
    return t.table_from(frame, "Service leads' intended changes and their workforce impact", [
        ("service", "Service", t.text), ("change", "Change", t.text),
        ("staff_group", "Staff group", t.text), ("wte_change", "WTE change", t.signed_wte),
        ("plan_year", "From", t.text)])


def _assumptions(a: WorkforceAnalysis) -> list[tuple[str, str]]:
    s, d, f = a.supply.assumptions, a.demand.assumptions, a.affordability.assumptions
    later = ("the activity plan's year-1 growth, repeated" if d.later_year_growth is None
             else f"{d.later_year_growth:.1%} a year")
    elasticity = ", ".join(f"{k} {v:g}" for k, v in d.activity_elasticity.items()
                           if k != "unknown")
    overrides = ", ".join(f"{g} {r:.1%}" for g, r in s.recruitment_rate_by_group.items())
    return [
        ("Recruitment", f"{s.recruitment_rate:.1%} of opening WTE a year"
         + (f" (overrides: {overrides})" if overrides else "")),
        ("Returners", f"{s.returners_rate:.1%} of opening WTE a year"),
        ("Training completers", f"{s.completer_join_rate:.0%} of expected completers join, "
                                f"at {s.wte_per_joiner:g} WTE each"),
        ("Leavers and retirements", "this year's rates by staff group and age band from the "
                                    "leavers return; staff age one band every five years"),
        ("Demand starting point", "funded establishment (staff in post + vacancies) in "
                                  f"{a.vacancies.month}, plus service leads' changes"),
        ("Activity growth", f"year 1 from the activity plan; later years {later}; "
                            f"elasticity by skill mix: {elasticity}"),
        ("Productivity", f"{d.productivity_gain:.1%} a year in the productivity scenario"),
        ("Pay budget", f"{f.budget_growth:.1%} real-terms growth a year"),
    ]


def _tables(a: WorkforceAnalysis) -> dict[str, t.Table]:
    """Every annex table, keyed by its place in the document."""
    c = a.current
    hc_note = ("Headcount counts distinct people. A person with posts in more than one row "
               "is counted in each, so rows do not add up to the total; WTE does add up.")
    hw = [("headcount", "Headcount", t.count), ("wte", "WTE", t.wte), ("wte_pct", "% WTE", t.pct)]
    total = ["Total (distinct people)", t.count(c.headcount), t.wte(c.wte), t.pct(100)]
    out: dict[str, t.Table] = {
        "by_staff_group": t.table_from(
            c.by_staff_group, "B.1a Headcount and WTE by staff group",
            [("staff_group", "Staff group", t.text), ("skill_mix", "Skill mix", t.text), *hw],
            footer=[total[0], "", *total[1:]], note=hc_note),
        "by_grade": t.table_from(c.by_grade, "B.1b Headcount and WTE by grade",
                                 [("grade", "Grade", t.text), *hw], footer=total, note=hc_note),
        "by_service": t.table_from(c.by_service, "B.1c Headcount and WTE by service",
                                   [("service", "Service", t.text), *hw], footer=total),
        "by_location": t.table_from(c.by_location, "B.1d Headcount and WTE by location",
                                    [("location", "Location", t.text), *hw], footer=total),
        "age_profile": t.table_from(
            c.age_profile, "B.1e Age profile (headcount)",
            [("age_band", "Age band", t.text), ("Female", "Female", t.count),
             ("Male", "Male", t.count), ("headcount", "Total", t.count), ("pct", "%", t.pct)]),
        "gender_profile": t.table_from(c.gender_profile, "B.1f Gender profile",
                                       [("gender", "Gender", t.text),
                                        ("headcount", "Headcount", t.count),
                                        ("pct", "%", t.pct)]),
        "ethnic_profile": t.table_from(
            c.ethnic_profile, "B.1g Ethnic profile (NHS Data Dictionary 16+1)",
            [("ethnic_code", "Code", t.text), ("label", "Ethnic category", t.text),
             ("headcount", "Headcount", t.count), ("pct", "%", t.pct),
             ("bme", "BME", t.yes_no)]),
        "skill_mix": t.table_from(
            c.skill_mix, "B.2 Skill mix",
            [("skill_mix", "Skill mix", t.text), *hw], footer=total,
            note="Registered: professionally qualified clinical staff; unregistered: support "
                 "to clinical staff; support: NHS infrastructure support."),
        "vacancies_by_group": t.table_from(
            a.vacancies.by_staff_group, f"B.3a Vacancies by staff group ({a.vacancies.month})",
            [("staff_group", "Staff group", t.text), ("vacancy_wte", "Vacancies WTE", t.wte),
             ("staff_in_post_wte", "In post WTE", t.wte),
             ("establishment_wte", "Establishment WTE", t.wte),
             ("rate_pct", "Vacancy rate", t.pct)],
            footer=["Total", t.wte(a.vacancies.vacancy_wte), t.wte(a.vacancies.staff_in_post_wte),
                    t.wte(a.vacancies.establishment_wte), t.pct(a.vacancies.rate_pct)],
            note="Vacancy rate = vacancies ÷ (staff in post + vacancies)."),
        "vacancy_hot_spots": t.table_from(
            a.vacancies.hot_spots, "B.3b Vacancy hot spots (staff group in service)",
            [("staff_group", "Staff group", t.text), ("service", "Service", t.text),
             ("vacancy_wte", "Vacancies WTE", t.wte), ("rate_pct", "Vacancy rate", t.pct)],
            note=f"Cells at or above {a.thresholds.vacancy_rate_pct.amber_max:g}% (Red)."),
        "vacancy_trend": t.table_from(
            a.vacancies.monthly, "B.3c Vacancy trend",
            [("month", "Month", t.text), ("vacancy_wte", "Vacancies WTE", t.wte),
             ("establishment_wte", "Establishment WTE", t.wte),
             ("rate_pct", "Vacancy rate", t.pct)]),
        "turnover_by_group": t.table_from(
            a.turnover.by_staff_group, "B.4a Turnover by staff group (12 months)",
            [("staff_group", "Staff group", t.text),
             ("leavers_headcount", "Leavers", t.count), ("leavers_wte", "Leavers WTE", t.wte),
             ("retirements", "Retirements", t.count),
             ("average_headcount", "Average in post", t.count),
             ("rate_pct", "Turnover", t.pct)],
            footer=["Total", t.count(a.turnover.leavers_headcount),
                    t.wte(a.turnover.leavers_wte), t.count(a.turnover.retirements),
                    t.count(a.turnover.average_headcount), t.pct(a.turnover.rate_pct)],
            note="Turnover = leavers ÷ average staff in post (headcount)."),
        "turnover_by_reason": t.table_from(
            a.turnover.by_reason, "B.4b Leavers by reason",
            [("reason", "Reason", t.text), ("leavers_headcount", "Leavers", t.count),
             ("leavers_wte", "WTE", t.wte), ("pct", "%", t.pct)]),
        "temporary_by_group": t.table_from(
            a.temporary_staffing.by_staff_group, "B.5 Bank and agency use by staff group",
            [("staff_group", "Staff group", t.text), ("bank_wte", "Bank WTE", t.wte),
             ("agency_wte", "Agency WTE", t.wte), ("bank_spend_gbp", "Bank spend", t.gbp),
             ("agency_spend_gbp", "Agency spend", t.gbp)],
            footer=["Total", t.wte(a.temporary_staffing.bank_wte),
                    t.wte(a.temporary_staffing.agency_wte),
                    t.gbp(a.temporary_staffing.bank_spend_gbp),
                    t.gbp(a.temporary_staffing.agency_spend_gbp)],
            note="WTE are monthly averages; spend is for twelve months."),
        "part_time_gender": _part_time(c.part_time_by["gender"], "gender", "Gender",
                                       "B.1h Part-time staff by gender"),
        "part_time_age": _part_time(c.part_time_by["age_band"], "age_band", "Age band",
                                    "B.1i Part-time staff by age band"),
        "part_time_ethnicity": _part_time(
            c.part_time_by["ethnic_code"].assign(
                ethnic_code=lambda d: d["ethnic_code"] + " " + d["ethnic_code"].map(
                    codes.ETHNIC_CATEGORIES)),
            "ethnic_code", "Ethnic category", "B.1j Part-time staff by ethnic category"),
        "retirement_risk": t.table_from(
            c.retirement_risk, "E.1 Age and retirement profile by staff group",
            [("staff_group", "Staff group", t.text), ("headcount", "Headcount", t.count),
             ("aged_55_plus", "Aged 55+", t.count), ("pct_55_plus", "% 55+", t.pct),
             ("aged_60_plus", "Aged 60+", t.count), ("pct_60_plus", "% 60+", t.pct),
             ("wte_55_plus", "WTE 55+", t.wte)]),
        "sickness_by_group": t.table_from(
            a.sickness.by_staff_group, "E.2 Sickness absence by staff group",
            [("staff_group", "Staff group", t.text), ("fte_days_lost", "FTE days lost", t.count),
             ("fte_days_available", "FTE days available", t.count),
             ("rate_pct", "Rate", t.pct2)],
            footer=["Total", t.count(a.sickness.fte_days_lost),
                    t.count(a.sickness.fte_days_available), t.pct2(a.sickness.rate_pct)],
            note="Rate = FTE days lost ÷ FTE days available × 100."),
        "sickness_by_month": t.table_from(
            a.sickness.by_month, "E.3 Sickness absence by month",
            [("month", "Month", t.text), ("fte_days_lost", "FTE days lost", t.count),
             ("fte_days_available", "FTE days available", t.count),
             ("rate_pct", "Rate", t.pct2)]),
        "supply_flows": t.table_from(
            a.supply.totals(), "D.1 Supply projection: flows per plan year (WTE)",
            [("year", "Year", t.text), ("opening_wte", "Opening", t.wte),
             ("retirements_wte", "Retirements", t.wte),
             ("other_leavers_wte", "Other leavers", t.wte),
             ("recruits_wte", "Recruits", t.wte), ("returners_wte", "Returners", t.wte),
             ("completers_wte", "Newly qualified", t.wte), ("supply_wte", "Closing", t.wte)]),
        "demand_totals": _demand_totals(a),
        "gap_final": t.table_from(
            a.gap.final_year(a.headline_scenario),
            f"D.3 Gap by staff group in the final plan year ({a.headline_scenario} scenario)",
            [("staff_group", "Staff group", t.text), ("supply_wte", "Supply WTE", t.wte),
             ("demand_wte", "Demand WTE", t.wte), ("gap_wte", "Gap WTE", t.signed_wte),
             ("shortfall_pct", "Shortfall", t.pct)],
            note="Gap = supply − demand; negative means a shortfall."),
        "gap_by_year": _gap_by_year(a),
        "affordability": t.table_from(
            a.affordability.projection, "D.4 Affordability: cost of demand against pay budget",
            [("scenario", "Scenario", t.text), ("year", "Year", t.text),
             ("demand_cost_gbp", "Cost of demand", t.gbp),
             ("supply_cost_gbp", "Cost of supply", t.gbp),
             ("pay_budget_gbp", "Pay budget", t.gbp), ("headroom_gbp", "Headroom", t.gbp),
             ("over_budget_pct", "Over budget", t.pct)]),
        "education": t.table_from(
            a.education, "F.1 Education and training commissions",
            [("programme", "Programme", t.text), ("staff_group", "Staff group", t.text),
             *([("provider", "Provider", t.text)] if "provider" in a.education.columns else []),
             ("places", "Places (5 years)", t.count),
             ("expected_completers", "Completers (5 years)", t.count),
             *([("apprenticeship", "Apprenticeship", t.yes_no)]
               if "apprenticeship" in a.education.columns else [])]),
        "completers_by_year": _completers_by_year(a),
        "returns": t.table_from(a.returns_summary, "Data returns used in this plan",
                                [("kind", "Return", t.text), ("rows", "Rows", t.count)]),
        "growth": t.table_from(
            a.demand.group_growth, "D.2a Activity-driven growth by staff group (year 1)",
            [("staff_group", "Staff group", t.text), ("skill_mix", "Skill mix", t.text),
             ("activity_growth_pct", "Activity growth", t.pct),
             ("elasticity", "Elasticity", lambda v: f"{float(v):g}"),
             ("wte_growth_pct", "WTE growth", t.pct)]),
    }
    return out


def _part_time(frame: pd.DataFrame, key: str, header: str, caption: str) -> t.Table:
    return t.table_from(frame, caption, [
        (key, header, t.text), ("headcount", "Headcount", t.count),
        ("part_time", "Part-time", t.count), ("part_time_pct", "% part-time", t.pct)])


def _demand_totals(a: WorkforceAnalysis) -> t.Table:
    """Trust demand WTE per scenario (rows) and year (columns)."""
    pivot = a.demand.totals().pivot(index="scenario", columns="year", values="demand_wte")
    pivot = pivot.reindex([s for s in SCENARIOS if s in pivot.index])
    years = list(pivot.columns)
    supply = a.supply.totals().set_index("year")["supply_wte"]
    rows = [[str(s), *[t.wte(v) for v in pivot.loc[s]]] for s in pivot.index]
    rows.append(["Projected supply", *[t.wte(supply.get(y)) for y in years]])
    return t.Table(caption="D.2 Demand by scenario and projected supply (WTE)",
                   headers=["Scenario", *[("Now" if y == 0 else f"Year {y}") for y in years]],
                   rows=rows, numeric=[False, *[True] * len(years)])


def _gap_by_year(a: WorkforceAnalysis) -> t.Table:
    """Gap WTE by staff group (rows) and year (columns) for the headline scenario."""
    rows_frame = a.gap.by_group[a.gap.by_group["scenario"] == a.headline_scenario]
    pivot = rows_frame.pivot(index="staff_group", columns="year", values="gap_wte")
    order = list(dict.fromkeys(rows_frame["staff_group"]))
    pivot = pivot.reindex(order)
    years = list(pivot.columns)
    totals = a.gap.totals[a.gap.totals["scenario"] == a.headline_scenario].set_index("year")
    return t.Table(
        caption=f"D.3b Gap by staff group and year ({a.headline_scenario} scenario, WTE)",
        headers=["Staff group", *[("Now" if y == 0 else f"Year {y}") for y in years]],
        rows=[[g, *[t.signed_wte(v) for v in pivot.loc[g]]] for g in pivot.index],
        numeric=[False, *[True] * len(years)],
        footer=["Total", *[t.signed_wte(totals.loc[y, "gap_wte"]) for y in years]])


def _completers_by_year(a: WorkforceAnalysis) -> t.Table:
    """Expected completers by staff group (rows) and plan year of completion (columns)."""
    flows = a.supply.projection[a.supply.projection["year"] >= 1]
    pivot = flows.pivot(index="staff_group", columns="year", values="completers_wte")
    pivot = pivot.reindex(list(dict.fromkeys(flows["staff_group"])))
    pivot = pivot[pivot.sum(axis=1) > 0]
    years = list(pivot.columns)
    return t.Table(
        caption="Newly qualified staff joining each year (WTE, after the join rate)",
        headers=["Staff group", *[f"Year {y} ({fy_label(a.financial_year, y - 1)})"
                                  for y in years]],
        rows=[[g, *[t.wte(v) for v in pivot.loc[g]]] for g in pivot.index],
        numeric=[False, *[True] * len(years)],
        footer=["Total", *[t.wte(pivot[y].sum()) for y in years]])
