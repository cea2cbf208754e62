"""The workforce plan template: what an organisation submits to its ICS (and the ICS to its
region) — monthly WTE trajectory by staff group × staff type, bridge, KPIs, triangulation
and validation — built from the analysis, written as xlsx and CSV, and checked on arrival.

Modules: :mod:`.model` (layout and assumptions), :mod:`.build` (from the analysis or a
published baseline), :mod:`.validation` (the validation sheet), :mod:`.workbook` (xlsx/CSV
out and in), :mod:`.check` (the receiver's checks and DQ report).
"""

from plancycle.template.build import from_analysis, from_published
from plancycle.template.model import TemplateAssumptions, WorkforceTemplate

__all__ = ["TemplateAssumptions", "WorkforceTemplate", "from_analysis", "from_published"]
