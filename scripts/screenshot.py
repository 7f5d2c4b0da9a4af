"""Take the README's screenshot: the map in Debian's Chromium, no-tiles mode, with one popup open.

Usage: .venv/bin/python scripts/screenshot.py [--out docs/screenshot.png] [--basemap none] [--width 1280 --height 800]
Needs the chromium package (scripts/test installs it); Chinese text needs a CJK font (fonts-noto-cjk).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from webmap import create_app  # noqa: E402

log = logging.getLogger("screenshot")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs/screenshot.png")
    parser.add_argument("--basemap", default="none")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--popup", default="ne-sailing-center", help="id of the feature whose popup is open")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    server = make_server("127.0.0.1", 0, create_app({"BASEMAP": args.basemap}), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(f"http://127.0.0.1:{server.server_port}/")
            page.wait_for_selector("body[data-layers-loaded=true]")
            page.evaluate("""(fid) => { for (const o of Object.values(window.SceneMap.overlays)) {
                o.layer.eachLayer(l => { if (l.feature.id === fid) { l._map.setView(l.getBounds().getCenter(), 14);
                    l.openPopup(l.getBounds().getCenter()); } }); } }""", args.popup)
            page.wait_for_timeout(600)  # let the view settle
            page.screenshot(path=str(args.out))
            browser.close()
    finally:
        server.shutdown()
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
