"""Integrated care system roll-up: many organisations' cycles, one system plan.

- :mod:`plancycle.ics.rollup` — the system tables from the organisations' accepted returns
  (by organisation, staff group and place), one vectorised pandas pass.
- :mod:`plancycle.ics.flags` — organisations whose figures disagree with the published
  statistics or with last year.
- :mod:`plancycle.ics.published` — the published (Core 5, sickness) view of an ICS.
- :mod:`plancycle.ics.system_plan` — the system plan through the same document machinery.
- :mod:`plancycle.ics.service` — the register side: who has submitted, the ICS submission
  tasks, gathering returns, building and registering the system plan.

Nothing here imports Prefect; ``flows/ics_rollup.py`` orchestrates it. The ``ics:`` block of a
system cycle (member organisations, their planners and exec sponsors) and its cross-checks
live with the rest of the configuration, in :mod:`plancycle.config.ics`.
"""
