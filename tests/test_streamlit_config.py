"""The production settings in .streamlit/config.toml are options this Streamlit knows, with the
values we chose: a misspelt option is only a warning in the server log, and a setting that
silently does nothing would leave error details shown or a full garbage collection after
every run (30 % of the server's CPU under 20 clinicians, bench/clinicians.py)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from streamlit import config

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / ".streamlit" / "config.toml"


def _settings() -> dict[str, object]:
    data = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    return {f"{section}.{key}": value for section, options in data.items() for key, value in options.items()}


def test_every_setting_is_an_option_of_this_streamlit():
    unknown = sorted(name for name in _settings() if name not in config._config_options_template)
    assert unknown == []


@pytest.mark.parametrize("name, expected", [
    ("runner.postScriptGC", False),
    ("server.fileWatcherType", "none"),
    ("client.showErrorDetails", "none"),
    ("server.enableXsrfProtection", True),
    ("runner.magicEnabled", False),
    ("client.disableDataExport", True),
    ("theme.textColor", "#111111"),  # captions readable: tests/e2e/test_accessibility.py
])
def test_the_server_reads_our_value(name, expected, monkeypatch):
    monkeypatch.chdir(REPO)  # Streamlit reads ./.streamlit/config.toml from the working directory
    for variable in [v for v in os.environ if v.startswith("STREAMLIT_")]:
        monkeypatch.delenv(variable)
    try:
        config.get_config_options(force_reparse=True)
        assert config.get_option(name) == expected
    finally:
        config.get_config_options(force_reparse=True)
