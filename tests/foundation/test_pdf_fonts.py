"""The plan's PDF is written without WeasyPrint's "HarfBuzz subset" warning (issue 18.11).

WeasyPrint subsets the embedded fonts with HarfBuzz's libharfbuzz-subset; without it, it falls
back to fontTools and logs a warning on every document (what ``make demo`` used to print).
``.ci/run`` installs ``libharfbuzz-subset0`` (Debian); the README says so for other machines.
"""

from __future__ import annotations

import logging

import pytest

from plancycle.documents.plan import write_pdf


def test_pdf_fonts_are_subset_by_harfbuzz(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = write_pdf("<h1>Workforce plan 2026/27</h1><p>Nurses &amp; health visitors: "
                        "1,234.5 WTE — £56,789</p>")
    assert pdf.startswith(b"%PDF")
    fallback = [r.getMessage() for r in caplog.records if "HarfBuzz" in r.getMessage()]
    assert fallback == [], ("libharfbuzz-subset is missing: as root, apt-get install -y "
                            "libharfbuzz-subset0 (.ci/run does this)")


def test_the_check_sees_the_fallback(caplog: pytest.LogCaptureFixture,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the library (simulated), WeasyPrint logs the warning the test above looks for."""
    import weasyprint.pdf.fonts

    monkeypatch.setattr(weasyprint.pdf.fonts, "harfbuzz_subset", None)
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        write_pdf("<p>fallback</p>")
    assert any("HarfBuzz" in r.getMessage() for r in caplog.records)
