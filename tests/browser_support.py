"""A page of ours in a real headless Chromium, with a probe script run after the page's own: what the reader's
browser lays out and what the page's script does, read back as text.

The probe is test code, so the copy the browser opens drops the page's Content-Security-Policy (which, rightly,
lets only the page's own script run). Tests that need it skip, with the reason, where Chromium is not installed
(apt-get install -y chromium); scripts/screenshot-report needs it too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium")
PROBE_ID = "tsharkpost-probe"
WINDOW = (1400, 2000)  # the window the page is laid out in, in CSS pixels


def run_probe(page: Path, probe: str, work: Path, page_script: bool = True) -> str:
    """Open page in Chromium, run the JavaScript `probe` (the body of a function returning a string) once the
    page's own script has run, and return what it returned; without page_script, the page is opened without its
    script, as a reader who turned JavaScript off sees it."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): browser checks skipped")
    text = page.read_text(encoding="utf-8")
    text, policies = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text)
    assert policies == 1
    script = (f"<script>(function () {{ var out = document.createElement('pre'); out.id = '{PROBE_ID}';"
              f" out.textContent = (function () {{ {probe} }})(); document.body.appendChild(out); }})();</script>")
    assert text.count("</body>") == 1
    if not page_script:
        text, scripts = re.subn(r"<script>.*?</script>", "", text, flags=re.S)
        assert scripts == 1
    copy = work / f"probe-{page.name}"
    copy.write_text(text.replace("</body>", script + "</body>"), encoding="utf-8")
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={work / 'chromium-profile'}",
         f"--window-size={WINDOW[0]},{WINDOW[1]}", "--dump-dom", copy.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=True)
    found = re.search(f'<pre id="{PROBE_ID}">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the probe did not run: {done.stderr[-2000:]}"
    return found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
