"""Settings: config.toml's documented defaults, HALL_* environment overrides, and refused values."""
from __future__ import annotations

import pytest

from hall.config import ROOT, ConfigError, load_settings

CONFIG = ROOT / "config.toml"


def test_a_hall_s_issues_at_the_lock_default_to_two_and_follow_the_environment():
    assert load_settings(CONFIG, environ={})["database"]["issues_at_the_lock"] == 2
    overridden = load_settings(CONFIG, environ={"HALL_DATABASE_ISSUES_AT_THE_LOCK": "3"})
    assert overridden["database"]["issues_at_the_lock"] == 3


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "two"])
def test_issues_at_the_lock_below_one_or_not_whole_are_refused_by_name(value):
    with pytest.raises(ConfigError, match="HALL_DATABASE_ISSUES_AT_THE_LOCK"):
        load_settings(CONFIG, environ={"HALL_DATABASE_ISSUES_AT_THE_LOCK": value})


def test_issues_at_the_lock_in_the_file_are_checked_too(tmp_path):
    edited = tmp_path / "config.toml"
    edited.write_text(CONFIG.read_text().replace("issues_at_the_lock = 2", "issues_at_the_lock = 0"))
    with pytest.raises(ConfigError, match=r"\[database\] issues_at_the_lock .* is 0"):
        load_settings(edited, environ={})
