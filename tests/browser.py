"""Render an HTML page in real headless Chromium (Debian's package; `make test` installs it) and report what
was laid out and painted. Not a mock: the browser's own layout engine measures the page and its own
compositor paints the screenshot that the checks read.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

# The flags the machine notes recommend: no sandbox (root), no GPU, and no background networking
# (the closed network refuses Chromium's calls home).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--force-device-scale-factor=1", "--window-size=1400,1600"]

PROBE = """<script>
window.addEventListener('load', () => {
  const svg = document.querySelector('#plot svg');
  const rect = svg ? svg.getBoundingClientRect() : null;
  const rows = document.querySelectorAll('#stages tbody tr').length;
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; };
  // every text of the plot as laid out: matplotlib writes each text (tick, axis label, legend entry) as a
  // group of glyph paths <g id="text_N">; with svg.fonttype 'none' it would be a <text> element
  const labels = svg ? Array.from(svg.querySelectorAll('g[id^="text_"], text'))
      .filter(e => !e.parentElement.closest('g[id^="text_"]'))
      .map(e => ({id: e.id || e.textContent, box: box(e)})) : [];
  const imgs = Array.from(document.querySelectorAll('#detections img')).map(
      i => ({complete: i.complete, w: i.naturalWidth, h: i.naturalHeight, box: box(i)}));
  const perClass = Array.from(document.querySelectorAll('#per-class tbody tr')).map(
      tr => Array.from(tr.cells).map(c => c.textContent));
  const tries = Array.from(document.querySelectorAll('#targets li.try')).map(li => li.textContent);
  const out = {svg: !!svg, rows: rows,
               rect: rect ? [rect.left, rect.top, rect.width, rect.height] : null,
               marks: svg ? svg.querySelectorAll('path, use').length : 0,
               labels: labels, images: imgs, per_class: perClass, tries: tries};
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def overlapping(labels: list[dict], tol: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of laid-out label boxes ([left, top, width, height]) that overlap by more than ``tol`` px."""
    out = []
    for i, a in enumerate(labels):
        ax, ay, aw, ah = a["box"]
        for b in labels[i + 1:]:
            bx, by, bw, bh = b["box"]
            if min(ax + aw, bx + bw) - max(ax, bx) > tol and min(ay + ah, by + bh) - max(ay, by) > tol:
                out.append((a["id"], b["id"]))
    return out


def chromium() -> str:
    exe = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        raise AssertionError("headless Chromium is missing: `make test` installs Debian's chromium, or set CHROMIUM")
    return exe


def _run(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args], check=False,
                          capture_output=True,
                          text=True, timeout=120)


def render(page: Path, tmp: Path) -> tuple[dict, np.ndarray]:
    """Load ``page`` (a copy with a measuring script appended) and return what the layout engine measured
    ({svg, rows, rect, marks, labels, images, per_class, tries}) and the screenshot as an RGB array."""
    import cv2

    tmp.mkdir(parents=True, exist_ok=True)
    probe = tmp / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = _run(["--dump-dom", probe.as_uri()], tmp)
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.DOTALL)
    assert m, f"Chromium did not run the page (exit {dom.returncode}): {dom.stderr[-500:]}"
    measured = json.loads(html.unescape(m.group(1)))
    shot = tmp / "shot.png"
    r = _run([f"--screenshot={shot}", page.as_uri()], tmp)
    assert shot.exists(), f"Chromium wrote no screenshot (exit {r.returncode}): {r.stderr[-500:]}"
    img = cv2.imread(str(shot), cv2.IMREAD_COLOR)[:, :, ::-1]
    return measured, img


def check_report_page(page: Path, tmp: Path, rows: int) -> None:
    """The HTML report as headless Chromium lays it out and paints it: the stage table has its ``rows`` rows, the
    plot is an inline SVG of real size with its marks, and the Pareto front's red line is painted inside
    the plot's box on the screenshot."""
    measured, img = render(page, tmp)
    assert measured["svg"] and measured["rows"] == rows, measured
    x, y, w, h = (int(round(v)) for v in measured["rect"])
    assert w > 300 and h > 200 and measured["marks"] > 10, measured
    crop = img[y:y + h, x:x + w].astype(int)
    assert crop.shape[:2] == (h, w), f"plot box {measured['rect']} is outside the {img.shape} screenshot"
    red = (abs(crop[..., 0] - 214) < 30) & (abs(crop[..., 1] - 39) < 30) & (abs(crop[..., 2] - 40) < 30)
    assert red.sum() > 50, "the Pareto front (#d62728) was not painted in the plot"
    assert (crop.sum(-1) < 600).sum() > 1000, "the plot area is blank (no axes, ticks or labels painted)"
