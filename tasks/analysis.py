"""Prefect tasks of the plan build: thin wrappers over :mod:`plancycle.planning`.

DataFrames and the analysis pass between tasks in memory, so no task caches by its inputs
(hashing a whole trust's returns would cost more than the step); idempotency comes from the
register instead — the same content registers nothing new.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from plancycle import runtime
from plancycle.analysis import AnalysisRefused, WorkforceAnalysis
from plancycle.documents import Signature
from plancycle.planning import (
    GatheredReturns,
    PlanBuild,
    RenderedDocument,
    analyse_returns,
    attach_template,
    gather_returns,
    key_measures,
    plan_context,
    register_documents,
    render_documents,
)
from plancycle.register.models import Cycle


def _artifact_key(cycle_id: str, what: str) -> str:
    return f"{what}-{cycle_id}".lower().replace("_", "-")


@task(name="gather returns", task_run_name="gather returns of {cycle_id}", cache_policy=NO_CACHE)
def gather_cycle_returns(cycle_id: str) -> GatheredReturns:
    """The latest accepted upload of each return kind, read back from the raw store."""
    with runtime.current().register.session() as session:
        gathered = gather_returns(session, cycle_id)
    logger = get_run_logger()
    logger.info("%s: %d returns accepted, %d not accepted, %d missing", cycle_id,
                sum(gathered.accepted.values()),
                sum(not ok for ok in gathered.accepted.values()), len(gathered.missing))
    for note in gathered.notes:
        logger.info(note)
    return gathered


@task(name="analyse", task_run_name="analyse {cycle_id}", cache_policy=NO_CACHE)
def analyse_cycle_returns(cycle_id: str, gathered: GatheredReturns) -> WorkforceAnalysis:
    """Annex B/D/E measures, projections, RAG and actions; refuses unaccepted returns."""
    with runtime.current().register.session() as session:
        financial_year = session.get(Cycle, cycle_id).financial_year
    return analyse_returns(gathered, financial_year)


@task(name="render", task_run_name="render plan of {cycle_id}", cache_policy=NO_CACHE)
def render_plan_documents(cycle_id: str, analysis: WorkforceAnalysis,
                          signatures: list[Signature], gathered: GatheredReturns | None = None
                          ) -> list[RenderedDocument]:
    """HTML and PDF of the plan and executive summary (and the workforce plan template),
    written content-addressed."""
    with runtime.current().register.session() as session:
        context = plan_context(session, cycle_id, signatures)
        if gathered is not None:
            context = attach_template(session, cycle_id, context, analysis, gathered)
    return render_documents(analysis, context, cycle_id)


@task(name="register", task_run_name="register plan of {cycle_id}", cache_policy=NO_CACHE)
def register_plan(cycle_id: str, rendered: list[RenderedDocument], analysis: WorkforceAnalysis,
                  gathered: GatheredReturns) -> PlanBuild:
    """Record the documents' versions (no-op for content already registered)."""
    rt = runtime.current()
    with rt.register.session(actor="flow:build-workforce-plan") as session:
        build = register_documents(session, cycle_id, rendered, rt.clock.now(),
                                   measures=key_measures(analysis), notes=gathered.notes,
                                   uploads=gathered.uploads)
    get_run_logger().info("%s: %s v%d %s (%s)", cycle_id, build.kind, build.version,
                          "registered" if build.new_version else "unchanged", build.sha256)
    return build


def plan_markdown(build: PlanBuild) -> str:
    """The key measures and the document hash and files, for the planner in the Prefect UI."""
    state = "new version registered" if build.new_version else "unchanged: same content"
    lines = [
        f"# Workforce plan for {build.cycle_id}: version {build.version}",
        "",
        f"**{build.kind} v{build.version}** — {state}.",
        "",
        f"- SHA-256 (what approvers decide on): `{build.sha256}`",
        f"- PDF: [{build.pdf_path.name}]({build.pdf_path.as_uri()})",
        f"- HTML: [{build.html_path.name}]({build.html_path.as_uri()})",
    ]
    if build.summary_pdf_path is not None:
        lines.append(f"- Executive summary v{build.summary_version}: "
                     f"[{build.summary_pdf_path.name}]({build.summary_pdf_path.as_uri()})")
    lines += ["", "| Measure | Value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in build.measures.items()]
    if build.notes:
        lines += ["", "**Notes**", ""] + [f"- {note}" for note in build.notes]
    return "\n".join(lines) + "\n"


@task(name="publish plan", task_run_name="publish plan of {build.cycle_id}",
      cache_policy=NO_CACHE)
def publish_plan_artifact(build: PlanBuild) -> str:
    markdown = plan_markdown(build)
    create_markdown_artifact(markdown, key=_artifact_key(build.cycle_id, "plan"),
                             description=f"Workforce plan of cycle {build.cycle_id}")
    return markdown


@task(name="publish refusal", task_run_name="publish refusal for {cycle_id}",
      cache_policy=NO_CACHE)
def publish_refusal_artifact(cycle_id: str, refused: AnalysisRefused) -> str:
    markdown = (f"# Workforce plan for {cycle_id}: not built\n\n```\n{refused.message()}\n```\n")
    create_markdown_artifact(markdown, key=_artifact_key(cycle_id, "plan"),
                             description=f"Workforce plan of cycle {cycle_id}: refused")
    return markdown

