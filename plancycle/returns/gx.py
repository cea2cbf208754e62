"""Great Expectations for the upload path: one context per process, imported off the clock.

Importing GX is the largest fixed cost of validating an upload (2–3 s and ~200 MB here), and
most of it is code the suites never run: ``scipy.stats`` and ``altair`` serve only the
distribution expectations (KL divergence, KS tests) and their charts. They are imported
*deferred* while GX loads — the module objects exist, their code runs on first use — so a
process that never runs those expectations never pays for them, and one that does gets the
real modules.

The CLI starts the import on a thread (:func:`warm_up_in_background`) as soon as it knows it
will validate: storing, hashing and Arrow's parse run in native code without the GIL, so the
import runs beside them. Only the import and context are shared; validation stays on the
caller's thread, under the context's lock.
"""

from __future__ import annotations

import gc
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from plancycle.returns.checks import MAX_SAMPLES

logger = logging.getLogger(__name__)

#: Pure-Python packages GX imports at start-up for expectations the suites do not use.
DEFERRED_IMPORTS = ("scipy.stats", "altair")


class _DeferredFinder(importlib.abc.MetaPathFinder):
    """Give the named modules a lazy loader: their code runs when an attribute is first used."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = set(names)

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


@contextmanager
def deferred_imports(names: Sequence[str] = DEFERRED_IMPORTS) -> Iterator[None]:
    """While the block runs, importing ``names`` defers their execution to first use."""
    finder = _DeferredFinder([n for n in names if n not in sys.modules])
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


class GreatExpectations:
    """One ephemeral GX context per process, built on first use (or by :func:`warm_up`)."""

    _lock = threading.Lock()
    _instance: GreatExpectations | None = None

    def __init__(self) -> None:
        os.environ["GX_ANALYTICS_ENABLED"] = "false"
        # GX's import creates some hundred thousand long-lived objects (pydantic models,
        # registries) and no garbage worth collecting: the collector is paused while it runs
        # (~0.3 s saved) and the objects are then moved out of its sight (``gc.freeze``), so
        # they cost nothing in later collections, nor at interpreter exit (~1 s saved there).
        collecting = gc.isenabled()
        gc.disable()
        try:
            with deferred_imports():
                import great_expectations as gx
                from great_expectations.data_context.types.base import ProgressBarsConfig
                from great_expectations.execution_engine import pandas_execution_engine
        finally:
            gc.freeze()
            if collecting:
                gc.enable()
        # GX fingerprints every batch with an md5 of the whole frame (about 1 s per 1.5M rows,
        # twice per validation). We identify uploads by the raw file's sha256 instead.
        pandas_execution_engine.HASH_THRESHOLD = 0
        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = self.context.data_sources.add_pandas("plancycle_returns")
        asset = source.add_dataframe_asset("upload")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("whole_upload")

    @classmethod
    def get(cls) -> GreatExpectations:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def validate(self, frame: Any, suite: dict[str, Any]) -> Any:
        """The suite's ``ExpectationSuiteValidationResult`` on ``frame`` (SUMMARY format)."""
        with self._lock:
            batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
            return batch.validate(
                self.gx.ExpectationSuite(**suite),
                result_format={"result_format": "SUMMARY",
                               "partial_unexpected_count": MAX_SAMPLES},
            )


def warm_up() -> None:
    """Import GX and build the context now rather than on the first validation."""
    GreatExpectations.get()


def _warm_up_quietly() -> None:
    try:
        warm_up()
    except Exception:   # the validation that needs GX calls get() again and reports it
        logger.debug("importing Great Expectations in the background failed", exc_info=True)


def warm_up_in_background() -> threading.Thread:
    """Start importing GX on a thread while this one stores and parses the file.

    The upload's own work there is mostly native code that releases the GIL (copying and
    hashing the file, Arrow's CSV parse), so the import runs beside it rather than after it.
    """
    thread = threading.Thread(target=_warm_up_quietly, name="gx-import", daemon=True)
    thread.start()
    return thread
