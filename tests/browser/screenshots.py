"""Regenerate the README's screenshots: `make screenshots` (or `python -m tests.browser.screenshots`).

The demo site of the browser tests (the `make run` accounts plus a few records) is served on loopback, and
Debian's chromium photographs the key pages at a desktop and a phone size: the first screen of each, as the
person sees it on arrival. The PNGs are reduced to 256 colours, which keeps text sharp and files small.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from tests.browser import demo_site

SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
CHROMIUM = os.environ.get("ISSUER_CHROMIUM", "/usr/bin/chromium")


def _paste(document_changes: dict[str, Any] | None) -> Callable[[Any, demo_site.DemoSite], None]:
    """Paste the demo credential (changed by ``document_changes``: a forgery) into the verifier."""
    def open_result(page: Any, site: demo_site.DemoSite) -> None:
        document = page.request.get(f"{site.url}/credentials/{site.ids['credential_id']}.json").json()
        document.update(document_changes or {})
        page.goto(f"{site.url}/verify")
        page.get_by_label("Credential (JSON or JWT)").fill(json.dumps(document))
        with page.expect_navigation():
            page.get_by_role("button", name="Verify", exact=True).click()
    return open_result


#: name -> (role, path or a function that opens the page)
SHOTS: dict[str, tuple[str, str | Callable[[Any, demo_site.DemoSite], None]]] = {
    "home": ("anonymous", "/"),
    "verify-verified": ("anonymous", "/verify/{credential_id}"),
    "verify-failed": ("anonymous", _paste({"name": "Advanced clinical practice"})),
    "credential": ("therapist", "/credentials/{credential_id}"),
    "certificate": ("anonymous", "/credentials/{credential_id}/certificate"),
    "supervisor-grid": ("supervisor", "/supervisor/therapists/{therapist_id}"),
    "therapist-home": ("therapist", "/me"),
    "admin-audit": ("admin", "/admin/audit"),
}


def _small_png(png: bytes) -> bytes:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    reduced = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    reduced.save(out, format="PNG", optimize=True)
    return out.getvalue()


def take(out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        site = demo_site.start(Path(tmp))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                     args=["--no-sandbox", "--disable-gpu"])
                for size, (width, height) in SIZES.items():
                    pages: dict[str, Any] = {}
                    for name, (role, target) in SHOTS.items():
                        if role not in pages:
                            context = browser.new_context(viewport={"width": width, "height": height})
                            pages[role] = context.new_page()
                            if role != "anonymous":
                                site.sign_in(pages[role], role)
                        page = pages[role]
                        if callable(target):
                            target(page, site)
                        else:
                            page.goto(site.url + target.format(**site.ids))
                        path = out / f"{name}-{size}.png"
                        path.write_bytes(_small_png(page.screenshot()))
                        written.append(path)
                browser.close()
        finally:
            site.stop()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"), help="where to write the PNGs")
    args = parser.parse_args(argv)
    for path in take(args.out):
        print(f"{path} ({path.stat().st_size // 1024} KB)")  # noqa: T201 (a command line tool reports what it wrote)
    return 0


if __name__ == "__main__":
    sys.exit(main())
