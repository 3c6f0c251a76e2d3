"""Settings: `config.toml` read with tomllib, then `HALL_<SECTION>_<KEY>` overrides."""
from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = ROOT / "config.toml"


class ConfigError(ValueError):
    """A setting that cannot be read or has the wrong type."""


def _coerce(raw: str, default: Any, name: str) -> Any:
    """Turn an environment string into the type of the value it overrides."""
    try:
        if isinstance(default, bool):
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, (list, dict)):
            value = json.loads(raw)
            if not isinstance(value, type(default)):
                raise ValueError(raw)
            return value
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a valid {type(default).__name__}") from exc
    return raw


#: Settings that must be whole numbers of at least a minimum: (section, key) → the minimum.
_WHOLE_AT_LEAST = {("database", "issues_at_the_lock"): 1, ("database", "checkpoint_pages"): 1,
                   ("database", "checkpoint_restart_pages"): 1, ("database", "checkpoint_bound_pages"): 1}
#: Settings that must be a number of seconds above 0.
_POSITIVE_SECONDS = (("database", "checkpoint_quiet_s"), ("database", "turn_wait_s"))
#: Settings that must grow in this order: section → keys, smallest first.
_INCREASING = {"database": ("checkpoint_pages", "checkpoint_restart_pages", "checkpoint_bound_pages")}


def _named(section: str, key: str, value: Any) -> str:
    return f"[{section}] {key} (HALL_{section.upper()}_{key.upper()}) is {value!r}"


def _check(settings: dict[str, dict[str, Any]]) -> None:
    """Refuse a setting out of its range, naming it (the file's key and its environment variable)."""
    for (section, key), least in _WHOLE_AT_LEAST.items():
        value = settings.get(section, {}).get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(f"{_named(section, key, value)}: it must be a whole number of at least {least}")
    for section, key in _POSITIVE_SECONDS:
        value = settings.get(section, {}).get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigError(f"{_named(section, key, value)}: it must be a number of seconds above 0")
    for section, keys in _INCREASING.items():
        table = settings.get(section, {})
        for smaller, larger in zip(keys, keys[1:]):
            if not table[smaller] < table[larger]:
                raise ConfigError(f"{_named(section, larger, table[larger])}: it must be more than"
                                  f" {smaller} ({table[smaller]})")


def load_settings(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Read the TOML file and apply environment overrides; returns section → key → value."""
    environ = os.environ if environ is None else environ
    path = Path(environ.get("HALL_CONFIG", path or DEFAULT_CONFIG_FILE))
    with path.open("rb") as fh:
        settings: dict[str, dict[str, Any]] = tomllib.load(fh)
    for section, table in settings.items():
        for key, default in table.items():
            name = f"HALL_{section}_{key}".upper()
            if name in environ:
                table[key] = _coerce(environ[name], default, name)
    _check(settings)
    return settings


def flask_config(settings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The Flask config keys derived from the settings."""
    url = settings["database"]["url"]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        url = "sqlite:///" + str(ROOT / url.removeprefix("sqlite:///"))
    return {
        "SECRET_KEY": settings["server"]["secret_key"],
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings["server"]["https"],
        "MAX_CONTENT_LENGTH": settings["server"]["max_request_kib"] * 1024,
        "SQLALCHEMY_DATABASE_URI": url,
        # the most recently returned connection first: a quiet hall keeps reusing a warm one (idle
        # ones would answer a ping first, hall/database.py) and peaks reuse the pool's, not new ones
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": settings["database"]["pool_size"],
                                      "max_overflow": settings["database"]["max_overflow"],
                                      "pool_use_lifo": True},
        "HALL": settings,
        "BABEL_DEFAULT_LOCALE": settings["i18n"]["default_locale"],
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
