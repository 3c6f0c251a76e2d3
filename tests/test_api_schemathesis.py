"""Schemathesis against /api/v1/openapi.json on a live demo server: every operation, every check.

Two runs share one server: anonymous, and with an admin's bearer token; the hall path parameter
is pinned to the demo hall so requests reach the handlers. Bounded examples keep both runs within
about two minutes. Any server error, schema mismatch or undocumented status fails the test.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hall.demo import create_demo_hall
from hall.extensions import db
from tests.conftest import DemoHall, make_app
from tests.live import ROOT, LiveServer

pytest.importorskip("schemathesis")

#: Test cases per operation and phase; with the coverage phase this is ~1500 requests per run.
MAX_EXAMPLES = 5
SEED = 20261130
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="module")
def demo_server(sqlite_template, tmp_path_factory):
    """A live server on its own copy of the demo hall, and an admin token of that hall."""
    path = tmp_path_factory.mktemp("schemathesis") / "hall.db"
    shutil.copy(sqlite_template, path)
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        token = DemoHall(create_demo_hall()).token("admin")
        db.session.remove()
        db.engine.dispose()
    server = LiveServer(app.config["SQLALCHEMY_DATABASE_URI"]).start()
    yield server, token
    server.stop()


def run_schemathesis(url: str, workdir: Path, name: str, token: str | None) -> tuple[int, str]:
    config = workdir / "schemathesis.toml"
    config.write_text('[parameters]\n"path.hall" = "demo"\n')
    args = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
            f"{url}/api/v1/openapi.json", "--checks", "all", "--max-examples", str(MAX_EXAMPLES),
            "--seed", str(SEED), "--generation-database", "none", "--no-color", "--output-truncate", "false"]
    if token:
        args += ["--header", f"Authorization: Bearer {token}"]
    result = subprocess.run(args, cwd=workdir, capture_output=True, text=True, timeout=240)
    output = result.stdout + result.stderr
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"schemathesis-{name}.txt").write_text(output)
    return result.returncode, output


@pytest.mark.slow
def test_api_conforms_to_its_openapi_document(demo_server, tmp_path):
    server, token = demo_server
    runs = {"anonymous": None, "admin": token}
    for name in runs:
        (tmp_path / name).mkdir()
    with ThreadPoolExecutor(len(runs)) as pool:
        results = dict(zip(runs, pool.map(lambda name: run_schemathesis(server.url, tmp_path / name, name,
                                                                         runs[name]), runs)))
    for name, (code, output) in results.items():
        generated = re.search(r"(\d+) generated", output)
        assert generated and int(generated.group(1)) > 500, f"{name}: too few test cases\n{output[-3000:]}"
        failures = output[output.find("FAILURES"):output.find("SUMMARY")] if "FAILURES" in output else output[-3000:]
        assert code == 0, f"schemathesis ({name}) found failures:\n{failures[:20000]}"
        assert "Server error" not in output and "Undocumented status" not in output
