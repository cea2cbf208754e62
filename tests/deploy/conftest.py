"""The upload fixtures (the sample cycle with its data requests open, return files)."""

from tests.uploads.conftest import (  # noqa: F401  (fixtures used here)
    great_expectations_ready,
    opened,
    trust_files,
)
