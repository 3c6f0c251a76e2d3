"""Production serving refuses a guessable session secret; `make run` makes a random one once."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hall.secret_key import MIN_LENGTH, SHIPPED_SECRET_KEY, secret_key_problem
from tests.live import ROOT, TEST_SECRET_KEY, free_port


def run_refusing(args: list[str], tmp_path: Path, key: str) -> subprocess.CompletedProcess:
    """Run a server start command; one that does not exit on its own within 60 s is stopped (a failure: a
    refused start exits within seconds, but the bound must hold on a loaded CI machine)."""
    env = {**os.environ, "HALL_DATABASE_URL": f"sqlite:///{tmp_path}/hall.db", "HALL_SERVER_SECRET_KEY": key}
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"the server started with the secret key {key!r}")
    return subprocess.CompletedProcess(args, process.returncode, out, err)


@pytest.mark.parametrize("key", [SHIPPED_SECRET_KEY, "", "test-secret"])
def test_hall_serve_refuses_a_guessable_secret_key(tmp_path, key):
    result = run_refusing([sys.executable, "-m", "flask", "--app", "hall", "hall", "serve", "--port",
                           str(free_port())], tmp_path, key)
    assert result.returncode != 0
    assert "HALL_SERVER_SECRET_KEY" in result.stderr
    assert "refusing to serve" in result.stderr


def test_gunicorn_entry_point_refuses_the_shipped_key(tmp_path):
    """`gunicorn hall.wsgi:app` started by hand is refused too, not only `hall serve`."""
    result = run_refusing([sys.executable, "-c", "import hall.wsgi"], tmp_path, SHIPPED_SECRET_KEY)
    assert result.returncode != 0
    assert "WeakSecretKey" in result.stderr and "HALL_SERVER_SECRET_KEY" in result.stderr


def test_test_servers_use_an_accepted_key():
    assert secret_key_problem(TEST_SECRET_KEY) is None


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_creates_a_private_random_key_once(tmp_path):
    make = ["make", "-s", "-C", str(tmp_path), "-f", str(ROOT / "Makefile"), "var/secret_key"]
    subprocess.run(make, check=True, timeout=30)
    key_file = tmp_path / "var" / "secret_key"
    first = key_file.read_text().strip()
    assert secret_key_problem(first) is None and len(first) >= MIN_LENGTH
    assert key_file.stat().st_mode & 0o077 == 0, "the key file is readable by other users"
    subprocess.run(make, check=True, timeout=30)
    assert key_file.read_text().strip() == first, "a second make run must keep the key (and its sessions)"
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["make", "-s", "-C", str(other), "-f", str(ROOT / "Makefile"), "var/secret_key"], check=True,
                   timeout=30)
    assert (other / "var" / "secret_key").read_text().strip() != first


def test_development_server_only_warns(app, monkeypatch, caplog):
    """`flask run` keeps working with the example key, and says why it should not be served so."""
    from hall.secret_key import warn_on_weak_secret_key

    app.config["SECRET_KEY"] = SHIPPED_SECRET_KEY
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    with caplog.at_level("WARNING"):
        warn_on_weak_secret_key(app)
    assert "HALL_SERVER_SECRET_KEY" in caplog.text
