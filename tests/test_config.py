"""Settings: config.toml's documented defaults, HALL_* environment overrides, and refused values."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from hall import create_app
from hall.config import ROOT, ConfigError, load_settings
from hall.extensions import db
from hall.wal_checkpoints import CheckpointSettings

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


CHECKPOINTS = ("HALL_DATABASE_CHECKPOINT_PAGES", "HALL_DATABASE_CHECKPOINT_RESTART_PAGES",
               "HALL_DATABASE_CHECKPOINT_BOUND_PAGES", "HALL_DATABASE_CHECKPOINT_QUIET_S")


def test_the_checkpoint_settings_default_to_sqlite_s_threshold_and_follow_the_environment():
    database = load_settings(CONFIG, environ={})["database"]
    assert CheckpointSettings.of(database) == CheckpointSettings(1000, 4000, 10000, 1.0) == CheckpointSettings()
    overridden = load_settings(CONFIG, environ=dict(zip(CHECKPOINTS, ("500", "2000", "8000", "0.25"))))
    assert CheckpointSettings.of(overridden["database"]) == CheckpointSettings(500, 2000, 8000, 0.25)


@pytest.mark.parametrize("name, value", [(CHECKPOINTS[0], "0"), (CHECKPOINTS[1], "-4000"), (CHECKPOINTS[2], "1e4"),
                                         (CHECKPOINTS[3], "0"), (CHECKPOINTS[3], "-1"), (CHECKPOINTS[3], "soon")])
def test_checkpoint_settings_out_of_range_are_refused_by_name(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings(CONFIG, environ={name: value})


@pytest.mark.parametrize("environ, refused", [
    ({CHECKPOINTS[0]: "4000"}, r"\[database\] checkpoint_restart_pages .* is 4000: it must be more than checkpoint_pages"),
    ({CHECKPOINTS[1]: "20000"}, r"\[database\] checkpoint_bound_pages .* is 10000: it must be more than"),
])
def test_checkpoint_lengths_out_of_order_are_refused(environ, refused):
    with pytest.raises(ConfigError, match=refused):
        load_settings(CONFIG, environ=environ)


def test_a_server_s_request_connections_keep_sqlite_s_own_checkpoint_at_the_bound_set(tmp_path, monkeypatch):
    monkeypatch.setenv("HALL_DATABASE_CHECKPOINT_BOUND_PAGES", "12345")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'hall.db'}", "TESTING": True})
    with app.app_context():
        assert db.session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 12345
        db.session.remove()
        db.engine.dispose()


def test_the_turn_wait_defaults_to_a_second_and_follows_the_environment():
    assert load_settings(CONFIG, environ={})["database"]["turn_wait_s"] == 1.0
    assert load_settings(CONFIG, environ={"HALL_DATABASE_TURN_WAIT_S": "0.25"})["database"]["turn_wait_s"] == 0.25


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_turn_wait_not_above_zero_is_refused_by_name(value):
    with pytest.raises(ConfigError, match="HALL_DATABASE_TURN_WAIT_S"):
        load_settings(CONFIG, environ={"HALL_DATABASE_TURN_WAIT_S": value})
