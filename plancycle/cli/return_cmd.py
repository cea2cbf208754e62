"""``plancycle return``: upload data returns, list them, show their DQ reports.

Exit codes of ``upload`` and ``validate`` (scripts can rely on them):

- 0 — the return was accepted (verdict pass or warn);
- 1 — the return was checked and sent back (verdict fail): a valid outcome, not a crash;
  the DQ report printed says what to fix;
- 2 — the upload could not be taken (missing file, locked cycle, not your task…): nothing
  was stored;
- 3 — the file was stored but validation could not run (a system problem); fix the cause
  and run ``plancycle return validate UPLOAD_ID`` — no need to upload again.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from plancycle.cli.common import (
    UserError,
    console,
    console_err,
    open_register,
    parse_day,
    resolve_cycle_id,
)
from plancycle.clock import LONDON, clock_at

if TYPE_CHECKING:
    from plancycle.runtime import Runtime
    from plancycle.uploads import UploadOutcome, ValidationNotRun

app = typer.Typer(help="Data returns: upload a file, list uploads, show DQ reports.",
                  no_args_is_help=True)

CycleOpt = Annotated[str | None, typer.Option("--cycle", help="Cycle id (default: the only one)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Act as of this date (YYYY-MM-DD)")]
EXIT_FAIL, EXIT_NOT_VALIDATED = 1, 3


def _say(text: str) -> None:
    """Print text taken from an uploaded file literally (no rich markup or highlighting)."""
    console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)


def _finish(rt: Runtime, outcome: UploadOutcome) -> None:
    """Print the verdict and the DQ report; exit 1 when the return was sent back."""
    from plancycle.register.models import Task, Upload

    with rt.register.session() as session:
        upload = session.get(Upload, outcome.upload_id)
        task = session.get(Task, upload.task_id)
        state = task.state
        head = (f"Upload {upload.id}: version {upload.version} of '{task.key}' "
                f"({upload.original_name}, sha256 {upload.sha256[:12]}…)")
    _say(head)
    _say(f"Verdict: {outcome.verdict.upper()} — {outcome.report.verdict_text}")
    _say(f"Task '{task.key}' is now {state}.")
    _say("")
    _say(outcome.report.to_text().rstrip())
    if not outcome.accepted:
        raise typer.Exit(EXIT_FAIL)


def _warm_up_in_background() -> None:
    """GX takes ~1 s to import: it loads on a thread while the file is stored and parsed
    (native code that releases the GIL), not after. Imported here so ``--help`` stays light."""
    from plancycle.returns.gx import warm_up_in_background

    warm_up_in_background()


def _not_validated(exc: ValidationNotRun) -> None:
    console_err.print("error:", str(exc), style="bold red", highlight=False, markup=False,
                      emoji=False, soft_wrap=True)
    raise typer.Exit(EXIT_NOT_VALIDATED)


@app.command("upload")
def upload(task: Annotated[str, typer.Argument(help="Task id, e.g. staff_in_post_return")],
           file: Annotated[Path, typer.Argument(help="CSV or Excel file to upload")],
           person: Annotated[str, typer.Option("--person", help="Person id of the uploader")],
           cycle: CycleOpt = None, as_of: AsOfOpt = None) -> None:
    """Upload FILE as PERSON's return for TASK: stored, checked, then accepted or sent back.

    Exit code 0: accepted (pass or warn); 1: sent back (fail; the report says what to fix);
    2: not taken (nothing stored); 3: stored but not validated (run `return validate`).
    """
    from plancycle.runtime import Runtime
    from plancycle.uploads import UploadRefused, ValidationNotRun, submit_return

    if not file.is_file():
        raise UserError(f"no file at {file}; give the path of the CSV or Excel file to upload")
    _warm_up_in_background()
    rt = Runtime.build(clock=clock_at(parse_day(as_of)))
    cycle_id = resolve_cycle_id(rt.register, cycle)
    try:
        outcome = submit_return(rt, cycle_id, task, person, file, file.name)
    except UploadRefused as exc:
        raise UserError(str(exc)) from None
    except ValidationNotRun as exc:
        _not_validated(exc)
    _finish(rt, outcome)


@app.command("validate")
def validate(upload_id: Annotated[int, typer.Argument(help="Upload number (see `return list`)")],
             as_of: AsOfOpt = None) -> None:
    """Validate a stored upload that has not been checked yet (safe to re-run)."""
    from plancycle.runtime import Runtime
    from plancycle.uploads import ValidationNotRun, validate_upload_id

    _warm_up_in_background()
    rt = Runtime.build(clock=clock_at(parse_day(as_of)))
    try:
        outcome = validate_upload_id(rt, upload_id)
    except LookupError as exc:
        raise UserError(str(exc).strip("'\"")) from None
    except ValidationNotRun as exc:
        _not_validated(exc)
    _finish(rt, outcome)


@app.command("list")
def list_uploads(cycle: CycleOpt = None,
                 task: Annotated[str | None, typer.Option("--task", help="Only this task")] = None
                 ) -> None:
    """Every upload of the cycle: version, verdict, who uploaded it and when."""
    from rich import box
    from rich.table import Table
    from sqlalchemy import select

    from plancycle.register.models import DQResult, Person, Task, Upload

    register = open_register()
    cycle_id = resolve_cycle_id(register, cycle)
    with register.session() as session:
        query = (select(Upload, Task, Person, DQResult)
                 .join(Task, Upload.task_id == Task.id)
                 .outerjoin(Person, Upload.person_id == Person.id)
                 .outerjoin(DQResult, DQResult.upload_id == Upload.id)
                 .where(Upload.cycle_id == cycle_id).order_by(Upload.id))
        if task:
            query = query.where(Task.key == task)
        rows = session.execute(query).all()
    if not rows:
        _say(f"No uploads in {cycle_id}" + (f" for task '{task}'." if task else " yet."))
        return
    table = Table(title=f"Uploads in {cycle_id}", box=box.SIMPLE_HEAD)
    for col in ("upload", "task", "version", "file", "by", "uploaded", "verdict"):
        table.add_column(col, overflow="fold")
    for upload_row, task_row, person, result in rows:
        table.add_row(str(upload_row.id), task_row.key, str(upload_row.version),
                      upload_row.original_name, person.key if person else "—",
                      f"{upload_row.uploaded_at.astimezone(LONDON):%d %b %Y %H:%M}",
                      result.verdict if result else "not checked")
    console.print(table, markup=False, highlight=False)


@app.command("report")
def report(upload_id: Annotated[int, typer.Argument(help="Upload number (see `return list`)")],
           html: Annotated[bool, typer.Option("--html", help="Print the HTML report's path")]
           = False,
           data_docs: Annotated[bool, typer.Option(
               "--data-docs", help="Print the path of the run's Great Expectations Data Docs")]
           = False) -> None:
    """Print the DQ report of an upload (plain text, as emailed to the submitter)."""
    from sqlalchemy import select

    from plancycle.register.models import DQResult, Upload

    register = open_register()
    with register.session() as session:
        upload_row = session.get(Upload, upload_id)
        if upload_row is None:
            raise UserError(f"no upload {upload_id} in the register; see `plancycle return list`")
        result = session.scalar(select(DQResult).where(DQResult.upload_id == upload_id))
        if result is None:
            raise UserError(f"upload {upload_id} has not been checked yet (state "
                            f"{upload_row.state}); run `plancycle return validate {upload_id}`")
        from plancycle.returns import DQReport
        from plancycle.uploads import data_docs_path

        dq = DQReport.from_dict(result.report)
        path = result.report_path
        docs = data_docs_path(upload_row)
    if data_docs:
        if not docs.is_file():
            raise UserError(f"upload {upload_id} has no Data Docs: Great Expectations did not "
                            "run on it (the file could not be read); see its DQ report")
        _say(str(docs))
        return
    if html:
        _say(path or "")
        return
    _say(dq.to_text().rstrip())
