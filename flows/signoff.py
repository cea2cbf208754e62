"""The sign-off gate flow: ask the approvers, then wait until the gate passes or is rejected.

The register is the truth: decisions recorded through the CLI or the portal complete the
gate, and the flow only reads :func:`plancycle.signoff.gate_status`. How it waits:

- ``poll`` (tests, the demo, simple set-ups): check, wait on the runtime's clock, check again.
- ``pause``: the run pauses for a :class:`GateDecisionInput` (Prefect UI form, or
  ``resume_flow_run(id, run_input=...)``, which ``plancycle gate decide`` does for you when
  ``PREFECT_API_URL`` is set); the process keeps running.
- ``suspend`` (deployments): like ``pause`` but the worker is released and the run starts
  again from the top when resumed. The body is idempotent for that: every message is keyed,
  the pause key counts the inputs already received (kept in the audit trail), and an input
  the register already holds is acknowledged rather than recorded twice.

There is no default decision: ``decision`` must be given, and nothing resumes as "approve".
"""

from __future__ import annotations

import re
from typing import Any, Literal

from prefect import flow, get_run_logger, pause_flow_run, suspend_flow_run
from prefect.artifacts import create_markdown_artifact
from prefect.input import RunInput
from pydantic import BaseModel, Field

from plancycle import runtime
from tasks.runs import flow_runs
from tasks.signoff import check_gate, record_decision

FLOW_NAME = "signoff-gate"


class ConditionInput(BaseModel):
    text: str = Field(description="What must happen")
    role: str = Field(description="Role id that owns the follow-up task")


class GateDecisionInput(RunInput):
    """An approver's decision, as typed into Prefect's UI or sent by the CLI or the portal."""

    person: str = Field(description="Your person id in the cycle file")
    decision: Literal["approve", "approve_with_conditions", "reject"] = Field(
        description="approve, approve_with_conditions or reject (no default)")
    document_sha256: str = Field(description="SHA-256 of the document version you reviewed")
    reason: str | None = Field(default=None, description="Required to reject")
    conditions: list[ConditionInput] = Field(
        default_factory=list, description="Required for approve_with_conditions")
    signature: str | None = Field(default=None, description="Your typed name (optional)")


def _summary(status: dict[str, Any]) -> str:
    lines = [f"# Gate `{status['task_key']}`: {status['outcome']}", "",
             f"- Document: {status['document_kind']} v{status['document_version']} "
             f"`{status['document_sha256']}`",
             f"- Approved: {', '.join(status['approved_roles']) or 'nobody'} "
             f"({len(status['approved_roles'])}/{status['needed']} needed)",
             f"- Waiting on: {', '.join(status['waiting_roles']) or 'nobody'}"]
    if status.get("rejection_reason"):
        lines.append(f"- Rejected: {status['rejection_reason']}")
    return "\n".join(lines)


@flow(name=FLOW_NAME, flow_run_name="gate {task_key} of {cycle_id}", log_prints=True)
def signoff_gate(cycle_id: str, task_key: str,
                 wait: Literal["poll", "pause", "suspend"] = "poll",
                 poll_seconds: float = 900.0, max_checks: int = 0,
                 pause_timeout: int = 7 * 86400, pause_poll_seconds: int = 10
                 ) -> dict[str, Any]:
    """Send the approval requests for one gate and wait for its outcome.

    Returns the gate's status with ``outcome`` 'passed' or 'rejected' (or 'waiting' when
    ``max_checks`` ran out first).
    """
    rt = runtime.current()
    logger = get_run_logger()
    checks = 0
    while True:
        status = check_gate(cycle_id, task_key)
        checks += 1
        if status["outcome"] != "waiting" or (max_checks and checks >= max_checks):
            break
        if wait == "poll" or status["state"] != "open":
            rt.wait(poll_seconds)
            continue
        # Prefect input keys take lowercase letters, digits and dashes only.
        key = re.sub(r"[^a-z0-9-]", "-", f"{task_key.lower()}-input-"
                     f"{status['inputs_received'] + 1}")
        if wait == "pause":
            received = pause_flow_run(wait_for_input=GateDecisionInput, timeout=pause_timeout,
                                      poll_interval=pause_poll_seconds, key=key)
        else:
            received = suspend_flow_run(wait_for_input=GateDecisionInput,
                                        timeout=pause_timeout, key=key)
        outcome = record_decision(cycle_id, task_key, received.model_dump(mode="json"))
        logger.info("decision input from %s: %s", outcome["person"], outcome["result"])
    create_markdown_artifact(_summary(status), key=f"gate-{task_key}".lower().replace("_", "-"),
                             description=f"Sign-off gate {task_key} of {cycle_id}")
    return status


def resume_waiting_gate(cycle_id: str, task_key: str, run_input: dict[str, Any]) -> int:
    """Resume every paused/suspended run of this gate with a decision input; how many."""
    from prefect.flow_runs import resume_flow_run

    runs = flow_runs(FLOW_NAME, ["PAUSED"], cycle_id=cycle_id, task_key=task_key)
    for run in runs:
        resume_flow_run(run.id, run_input=run_input)
    return len(runs)


if __name__ == "__main__":
    import sys

    signoff_gate(sys.argv[1], sys.argv[2])
