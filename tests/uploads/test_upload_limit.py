"""One upload-size setting for every way a return arrives: CLI, portal and flows."""

from __future__ import annotations

import pytest

from plancycle.portal.settings import PortalSettings
from plancycle.returns import limits


def test_the_portal_reads_the_same_setting_as_the_cli(monkeypatch):
    monkeypatch.delenv(limits.MAX_UPLOAD_SETTING, raising=False)
    assert PortalSettings.from_env().max_upload_bytes == limits.max_upload_bytes() \
        == 512 * 1024 * 1024
    assert PortalSettings().max_upload_bytes == limits.DEFAULT_MAX_BYTES
    monkeypatch.setenv(limits.MAX_UPLOAD_SETTING, "400")
    assert PortalSettings.from_env().max_upload_bytes == limits.max_upload_bytes() \
        == 400 * 1024 * 1024


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "big"])
def test_a_bad_setting_names_itself(monkeypatch, value):
    monkeypatch.setenv(limits.MAX_UPLOAD_SETTING, value)
    with pytest.raises(limits.UploadLimitSettingError, match="PLANCYCLE_MAX_UPLOAD_MB"):
        limits.max_upload_bytes()

