"""Charts for the plan (Appendix I stage 4: "bar and/or pie charts … for trend data").

Why: the board reads pictures before tables. Each chart is drawn on its own matplotlib Figure
with the Agg canvas (no pyplot global state, safe in worker threads) and returned as PNG
bytes without a software stamp, so the same analysis always gives the same bytes and the
plan's HTML hash is stable.
"""

from __future__ import annotations

import base64
import hashlib
import io
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from plancycle.analysis.plan import WorkforceAnalysis
from plancycle.analysis.rag import Threshold
from plancycle.returns import codes

NHS_BLUE, NHS_DARK, NHS_LIGHT = "#005EB8", "#003087", "#41B6E6"
WARM, GREY, AMBER, RED = "#ED8B00", "#768692", "#FFB81C", "#DA291C"
SCENARIO_COLOURS = {"baseline": GREY, "growth": RED, "productivity": WARM}
DPI = 110


def _figure(width: float = 6.4, height: float = 3.2) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """Embed a PNG in HTML so the document is one self-contained file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def age_pyramid(profile: pd.DataFrame) -> bytes:
    """Headcount by age band, women to the right and men to the left."""
    fig = _figure(6.4, 3.6)
    ax = fig.add_subplot()
    y = np.arange(len(profile))
    ax.barh(y, profile["Female"], color=NHS_BLUE, label="Female")
    ax.barh(y, -profile["Male"], color=NHS_LIGHT, label="Male")
    ax.set_yticks(y, profile["age_band"])
    limit = max(profile["Female"].max(), profile["Male"].max(), 1) * 1.1
    ax.set_xlim(-limit, limit)
    ticks = ax.get_xticks()
    ax.set_xticks(ticks, [f"{abs(t):,.0f}" for t in ticks])
    ax.axhspan(y[list(codes.AGE_BANDS).index("55-59")] - 0.5, y[-1] + 0.5, color=AMBER,
               alpha=0.15, label="Retirement risk (55+)")
    ax.set_xlabel("Headcount")
    ax.set_title("Age profile by gender")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    fig.tight_layout()
    return _png(fig)


def wte_trend(monthly: pd.DataFrame) -> bytes:
    """Staff in post and establishment WTE month by month."""
    fig = _figure()
    ax = fig.add_subplot()
    x = np.arange(len(monthly))
    ax.plot(x, monthly["staff_in_post_wte"], color=NHS_BLUE, marker="o", label="Staff in post")
    ax.plot(x, monthly["establishment_wte"], color=NHS_DARK, linestyle="--",
            label="Establishment")
    ax.fill_between(x, monthly["staff_in_post_wte"], monthly["establishment_wte"],
                    color=AMBER, alpha=0.25, label="Vacancies")
    ax.set_xticks(x, monthly["month"], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("WTE")
    ax.set_title("Staff in post and establishment (WTE)")
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return _png(fig)


def gap_by_year(totals: pd.DataFrame) -> bytes:
    """Projected supply against each demand scenario over the plan years."""
    fig = _figure()
    ax = fig.add_subplot()
    supply = totals[totals["scenario"] == totals["scenario"].iloc[0]]
    years = supply["year"].to_numpy()
    ax.bar(years, supply["supply_wte"], color=NHS_LIGHT, label="Projected supply")
    for scenario, rows in totals.groupby("scenario", sort=False):
        ax.plot(rows["year"], rows["demand_wte"], marker="o",
                color=SCENARIO_COLOURS.get(str(scenario), NHS_DARK),
                label=f"Demand: {scenario}")
    low = min(totals["supply_wte"].min(), totals["demand_wte"].min())
    ax.set_ylim(low * 0.9, None)
    ax.set_xticks(years, [f"Year {int(y)}" if y else "Now" for y in years])
    ax.set_ylabel("WTE")
    ax.set_title("Workforce gap: supply against demand")
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    fig.tight_layout()
    return _png(fig)


def sickness_by_month(monthly: pd.DataFrame, threshold: Threshold) -> bytes:
    """Monthly sickness absence rate against the Green and Amber thresholds."""
    fig = _figure()
    ax = fig.add_subplot()
    x = np.arange(len(monthly))
    colours = [RED if r > threshold.amber_max else AMBER if r > threshold.green_max else NHS_BLUE
               for r in monthly["rate_pct"]]
    ax.bar(x, monthly["rate_pct"], color=colours)
    ax.axhline(threshold.green_max, color=GREY, linestyle=":", label="Green limit")
    ax.axhline(threshold.amber_max, color=RED, linestyle="--", label="Amber limit")
    ax.set_xticks(x, monthly["month"], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("% of FTE days lost")
    ax.set_title("Sickness absence rate by month")
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return _png(fig)


# Each chart names the parts of the analysis it draws, so a drawing can be reused whenever
# those parts are the same: the draft plan, the signed plan and the executive summary of
# one analysis share their charts instead of drawing each three times.
CHARTS: dict[str, tuple[Callable[[WorkforceAnalysis], tuple], Callable[..., bytes]]] = {
    "age_pyramid": (lambda a: (a.current.age_profile,), age_pyramid),
    "wte_trend": (lambda a: (a.vacancies.monthly,), wte_trend),
    "gap_by_year": (lambda a: (a.gap.totals,), gap_by_year),
    "sickness_by_month": (lambda a: (a.sickness.by_month, a.thresholds.sickness_pct),
                          sickness_by_month),
}

_DRAWN: OrderedDict[tuple[str, str], str] = OrderedDict()
_DRAWN_LIMIT = 64
_DRAWN_LOCK = threading.Lock()


def _fingerprint(inputs: tuple) -> str:
    """A digest of what a chart is drawn from: every frame's columns, dtypes, index and
    values, and the repr of anything else (thresholds are small frozen dataclasses)."""
    digest = hashlib.sha256()
    for part in inputs:
        if isinstance(part, pd.DataFrame):
            digest.update(repr((list(part.columns), [str(d) for d in part.dtypes])).encode())
            try:
                values = pd.util.hash_pandas_object(part, index=True).to_numpy().tobytes()
            except TypeError:   # a cell pandas cannot hash (a list): the pickled frame
                values = pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)
            digest.update(values)
        else:
            digest.update(repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def chart(name: str, analysis: WorkforceAnalysis) -> str:
    """One chart as a data URI, drawn once per distinct input in this process."""
    inputs_of, draw = CHARTS[name]
    inputs = inputs_of(analysis)
    key = (name, _fingerprint(inputs))
    with _DRAWN_LOCK:
        if key in _DRAWN:
            _DRAWN.move_to_end(key)
            return _DRAWN[key]
    uri = data_uri(draw(*inputs))
    with _DRAWN_LOCK:
        _DRAWN[key] = uri
        while len(_DRAWN) > _DRAWN_LIMIT:
            _DRAWN.popitem(last=False)
    return uri


class LazyCharts:
    """Charts drawn on first use (``charts.age_pyramid`` in a template), so a one-page
    summary does not pay for the four charts of the full plan."""

    def __init__(self, analysis: WorkforceAnalysis) -> None:
        self._analysis = analysis

    def __getattr__(self, name: str) -> str:
        if name.startswith("_") or name not in CHARTS:
            raise AttributeError(name)
        return chart(name, self._analysis)
