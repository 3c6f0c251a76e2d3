"""Start the demo hall on a fresh database and save every screen at its real size, in Chinese and
English, as docs/screenshots/<screen>-<lang>.png (the README shows them).

Usage: make screenshots   (or: .venv/bin/python scripts/screenshots.py [folder])
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from hall import create_app  # noqa: E402
from hall.demo import create_demo_hall  # noqa: E402
from hall.extensions import db  # noqa: E402
from tests.conftest import CHROMIUM_ARGS  # noqa: E402
from tests.live import LiveServer  # noqa: E402
from tests.screens import LANGUAGES, SCREENS, Visitors, fill_the_hall  # noqa: E402


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/hall.db"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            passwords = create_demo_hall()
            tokens = fill_the_hall()
            db.session.remove()
        server = LiveServer(url).start(timeout=120)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                                     headless=True, args=CHROMIUM_ARGS)
                visitors = Visitors(browser, server.url, passwords)
                for lang in LANGUAGES:
                    for screen in SCREENS:
                        page, _response = visitors.show(screen, tokens, lang)
                        path = folder / f"{screen.name}-{lang}.png"
                        page.screenshot(path=str(path))
                        print(f"{path.relative_to(ROOT)}  {screen.width}×{screen.height}")
                visitors.close()
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
