"""A live server on loopback and Debian's chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from issuer import create_app
from issuer.extensions import db
from tests.conftest import CHEAP_ARGON2, IN_CI

CHROMIUM = os.environ.get("ISSUER_CHROMIUM", "/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The app on a real socket, initialised like `make run`: schema, keys, framework, demo accounts."""
    from issuer.accounts import demo
    from issuer.frameworks import catalogue
    from issuer.identity import keystore

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir(mode=0o700)
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'browser.sqlite3'}", "ISSUER_BASE_URL": base,
        "ISSUER_KEYS_DIR": str(keys_dir), "ISSUER_KEY_PASSPHRASE": None, "SECRET_KEY": os.urandom(16).hex(),
        "ISSUER_UPLOADS_DIR": str(tmp_path / "uploads"), "ISSUER_OUTBOX_DIR": str(tmp_path / "outbox"),
        **CHEAP_ARGON2,
    })
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        db.create_all()
        keystore.ensure_keys(db.session)
        for path in catalogue.framework_files(app.config["ISSUER_FRAMEWORKS_DIR"]):
            catalogue.import_framework(db.session, catalogue.parse_framework(path))
        created = demo.create_demo_accounts(db.session)
        db.session.commit()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": base, "app": app, "accounts": {role: (email, password) for role, email, password in created}}
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The demo site (tests/browser/demo_site.py), one per test process: tests that use it change nothing."""
    from tests.browser import demo_site

    running = demo_site.start(tmp_path_factory.mktemp("demo"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless chromium per test process, shared by every browser test (each gets its own context)."""
    if not (Path(CHROMIUM).exists() and shutil.which(CHROMIUM)):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (make browser-deps)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    """A page in a fresh context (its own cookies), closed after the test."""
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
