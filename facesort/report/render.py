#!/usr/bin/env python3
"""Open a result's report.html in headless Chromium: check that every image on it loaded, and
optionally save a screenshot of it. Used by `make report` and the tests.

Needs a Chromium (Debian: apt-get install chromium). Exit codes: 0 every image loaded,
1 some did not (each is named), 2 no Chromium or no report.
"""
from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPORT_HTML = "report.html"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# headless, as root, and without the background traffic a closed network refuses
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
WAIT_MS = 10_000  # virtual time for the page to load its images
TIMEOUT_S = 120
SCREENSHOT_COLORS = 192  # palette PNG: a screenshot small enough for the repository
# written into a copy of the page: once everything has loaded, each image's natural size
CHECK_SCRIPT = """<script>
window.addEventListener("load", () => {
  const found = [...document.images].map(i => [i.getAttribute("src").slice(0, 80),
                                               i.naturalWidth, i.naturalHeight]);
  const out = document.createElement("pre");
  out.id = "image-check";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>"""
CHECK_OUTPUT = re.compile(r'<pre id="image-check">(.*?)</pre>', re.S)


@dataclass(frozen=True)
class LoadedImage:
    """An <img> of the page as the browser saw it; 0x0 when it did not load."""

    src: str
    width: int
    height: int

    @property
    def loaded(self) -> bool:
        return self.width > 0 and self.height > 0


def find_chromium() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(chromium: str, *arguments: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                               *arguments], capture_output=True, text=True, timeout=TIMEOUT_S)


def loaded_images(report: Path, chromium: str) -> list[LoadedImage]:
    """Every image of ``report`` with the size the browser decoded it at.

    The page is checked through a copy in a temporary folder (the result is not touched): a
    <base> points its relative links back at the result, a script records the image sizes.
    """
    page = report.read_text(encoding="utf-8")
    base = f'<base href="{html.escape(report.resolve().parent.as_uri())}/">'
    page = page.replace("<head>", "<head>" + base, 1)
    page = page.replace("</body>", CHECK_SCRIPT + "</body>", 1)
    page = page.replace('loading="lazy"', 'loading="eager"')  # every image, not those in view
    with tempfile.TemporaryDirectory(prefix="report-check-") as folder:
        copy = Path(folder) / REPORT_HTML
        copy.write_text(page, encoding="utf-8")
        completed = run_chromium(chromium, f"--virtual-time-budget={WAIT_MS}", "--dump-dom",
                                 copy.as_uri())
    found = CHECK_OUTPUT.search(completed.stdout)
    if found is None:
        raise RuntimeError(f"chromium did not render {report}: {completed.stderr.strip()[-300:]}")
    return [LoadedImage(*item) for item in json.loads(html.unescape(found.group(1)))]


def screenshot(report: Path, chromium: str, output: Path, size: tuple[int, int]) -> int:
    """A screenshot of the page's top ``size`` pixels, as a palette PNG; returns its bytes."""
    from PIL import Image

    output.parent.mkdir(parents=True, exist_ok=True)
    run_chromium(chromium, f"--window-size={size[0]},{size[1]}",
                 f"--virtual-time-budget={WAIT_MS}", f"--screenshot={output.resolve()}",
                 report.resolve().as_uri())
    if not output.is_file():
        raise RuntimeError(f"chromium wrote no screenshot of {report}")
    with Image.open(output) as image:
        small = image.convert("RGB").quantize(SCREENSHOT_COLORS)
    small.save(output, optimize=True)
    return output.stat().st_size


def window_size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result_dir", type=Path, help="a result directory with report.html")
    parser.add_argument("--screenshot", type=Path, metavar="PNG", help="also save a screenshot")
    parser.add_argument("--window", type=window_size, default=(1000, 1300), metavar="WxH",
                        help="screenshot size in pixels (default 1000x1300)")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    report = args.result_dir / REPORT_HTML
    if chromium is None:
        print("face-classifier report check: error: no chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    if not report.is_file():
        print(f"face-classifier report check: error: no {report}", file=sys.stderr)
        return 2
    images = loaded_images(report, chromium)
    broken = [image for image in images if not image.loaded]
    print(f"{report}: {len(images) - len(broken)} of {len(images)} images loaded in "
          f"{Path(chromium).name}")
    for image in images:
        print(f"  {image.width}x{image.height}  {image.src}")
    if args.screenshot:
        size = screenshot(report, chromium, args.screenshot, args.window)
        print(f"screenshot: {args.screenshot} ({size // 1024} KB)")
    if broken or not images:
        print(f"face-classifier report check: error: {len(broken)} images did not load", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
