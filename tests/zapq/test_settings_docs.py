from __future__ import annotations

import re
from pathlib import Path

from zapq.settings import Settings
from zapq.settings_docs import configuration_page, main

CONFIGURATION_PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_committed_configuration_page_is_the_one_make_docs_writes():
    assert CONFIGURATION_PAGE.read_text() == configuration_page(), "run `make docs` and commit the page"


def test_the_page_lists_every_setting_with_its_default():
    rows = dict(re.findall(r"^\| `([A-Z_0-9]+)` \| ([^|]*) \|", configuration_page(), re.MULTILINE))

    assert set(rows) == {field.upper() for field in Settings.__struct_fields__}
    assert rows["WEB_PORT"].strip() == "`8000`"
    assert rows["REDIS_URL"].strip() == "unset"
    assert rows["WHATSAPP_SKIP_SIGNATURE"].strip() == "`False`"


def test_make_docs_writes_the_page_to_the_path_it_is_given(tmp_path):
    written = tmp_path / "configuration.md"

    assert main([str(written)]) == 0
    assert written.read_text() == configuration_page()
