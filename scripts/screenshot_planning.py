"""Take the README's screenshot of the planning desk's site check: a site by a sample residential compound,
checked, with the verdicts, the rules' buffers and the distance lines (Debian's Chromium, no basemap tiles).

Usage: .venv/bin/python scripts/screenshot_planning.py [--out docs/planning-check.png] [--width 1360 --height 1180]
Runs on a throwaway in-memory store with a throwaway staff account; nothing is kept.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import shutil
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from webmap import create_app  # noqa: E402

log = logging.getLogger("screenshot_planning")
#: The site checked: beside the Taidong barbecue seating, a few metres from 威海路居民小区 (sample data).
SITE = (36.0889, 120.3490)
HOURS = "Mo-Su 17:00-01:00"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs/planning-check.png")
    parser.add_argument("--width", type=int, default=1360)
    parser.add_argument("--height", type=int, default=1180)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app = create_app({"TESTING": True, "BASEMAP": "none"})
    password = secrets.token_urlsafe(16)
    app.extensions["store"].create_user("planner", generate_password_hash(password), "admin", [], actor="screenshot")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(url + "/staff/login")
            page.fill("input[name=name]", "planner")
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.goto(url + "/staff/planning/check")
            page.wait_for_selector("body[data-check-ready=true]")
            page.fill("input[name=name]", "台东某烧烤外摆（示例）")
            page.fill("input[name=opening_hours]", HOURS)
            page.fill("input[name=clear_walkway_m]", "1.8")
            page.evaluate("""([lat, lon]) => {
                const config = JSON.parse(document.getElementById('check-config').textContent);
                const map = window[config.map];
                map.setView([lat, lon], 18, { animate: false });
                const p = map.latLngToContainerPoint([lat, lon]);
                map.fire('click', { latlng: L.latLng(lat, lon), containerPoint: p,
                                    layerPoint: map.containerPointToLayerPoint(p) }); }""", list(SITE))
            page.wait_for_selector("body[data-checked='200']")
            page.wait_for_timeout(500)  # let the view settle
            page.screenshot(path=str(args.out))
            browser.close()
    finally:
        server.shutdown()
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
