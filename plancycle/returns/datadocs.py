"""Great Expectations Data Docs of one validation run, for the upload's DQ report to link to.

The page is the one GX's own Data Docs site shows for a validation result (its
``ValidationResultsPageRenderer`` and ``DefaultJinjaPageView``): every expectation of the
kind's suite, its observed value and the sampled unexpected values. It is built when the
upload is validated and stored beside the upload and its DQ report, so it always shows the
run that gave the verdict.

GX's page loads Bootstrap, jQuery and Vega from public CDNs and runs inline scripts. Returns
hold staff records: the stored page references nothing outside itself and runs no script
(the portal also serves it under a sandboxed CSP), and a small inline stylesheet keeps its
tables readable without Bootstrap.
"""

from __future__ import annotations

import re
from typing import Any

_SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_EXTERNAL = re.compile(r"<link\b[^>]*>|<img\b[^>]*\bsrc=[\"']?https?://[^>]*>", re.IGNORECASE)
_REMOTE_URL = re.compile(r"url\(\s*['\"]?https?://[^)]*\)", re.IGNORECASE)
_STYLE = """<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #212b32; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #d8dde0; padding: 0.3rem 0.6rem; vertical-align: top;
  text-align: left; }
.cooltip .top, footer, nav, #ge-cta-footer, .d-none { display: none; }
.text-danger { color: #d5281b; } .text-success { color: #007f3b; }
ul { margin: 0; }
</style>
"""
_NOTE = ("<p><strong>Great Expectations Data Docs</strong> of the validation run behind this "
         "upload's DQ report: the expectations of the suite and what was observed.</p>\n")


def render(result: Any) -> str:
    """The Data Docs page of one ``ExpectationSuiteValidationResult``, self-contained."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    page = DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(result))
    page = _REMOTE_URL.sub("none", _EXTERNAL.sub("", _SCRIPT.sub("", page)))
    head_end = page.lower().find("</head>")
    if head_end >= 0:
        page = page[:head_end] + _STYLE + page[head_end:]
    body = re.search(r"<body\b[^>]*>", page, re.IGNORECASE)
    if body:
        page = page[:body.end()] + _NOTE + page[body.end():]
    return page
