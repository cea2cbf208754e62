"""The production stack on one machine: Postgres, Prefect's server, a work pool, workers,
the deployments and the portal — brought up, checked and stopped by ``plancycle stack``.

Layers: :mod:`~plancycle.stack.home` (the folder, ports, pids, secrets),
:mod:`~plancycle.stack.processes` (detached processes, recognised by a marker),
:mod:`~plancycle.stack.postgres` (the cluster), :mod:`~plancycle.stack.orchestrator`
(Prefect's server, pool, workers, deployments) and :mod:`~plancycle.stack.stack` (up, down,
status). Nothing heavy is imported here: Prefect and the register load when used.
"""

from plancycle.stack.home import StackHome
from plancycle.stack.postgres import StackError
from plancycle.stack.stack import PartStatus, Stack, StackOptions, describe, shell_exports

__all__ = ["PartStatus", "Stack", "StackError", "StackHome", "StackOptions", "describe",
           "shell_exports"]
