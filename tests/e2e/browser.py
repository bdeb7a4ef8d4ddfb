"""Load an HTML file in headless Chromium and count its images, broken images and console errors.

A probe is added to a copy of the page: at the top it records console.error calls and error
events (a failed resource included), after load it writes the counts into the DOM, which
`--dump-dom` prints. Locally without Chromium the caller skips; in CI (CI=true) it fails, since
.ci/run installs Debian's `chromium`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

HEAD = ("<script>window.__errors=[];const _error=console.error;console.error=function(...a){"
        "window.__errors.push(a.join(' '));_error.apply(console,a)};window.addEventListener("
        "'error',e=>window.__errors.push(String(e.message||'resource error')),true);</script>")
TAIL = ("<script>window.addEventListener('load',()=>{const im=[...document.images];"
        "const d=document.createElement('div');d.id='probe';d.textContent='IMAGES '+im.length+"
        "' BROKEN '+im.filter(i=>!i.complete||i.naturalWidth===0).length+' ERRORS '+"
        "window.__errors.length;document.body.appendChild(d);});</script>")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
    pytest.skip("chromium is not installed (CI installs it)")


def render_counts(page: Path, work: Path) -> dict[str, int]:
    """{"IMAGES": n, "BROKEN": n, "ERRORS": n} of `page` rendered by headless Chromium."""
    text = page.read_text()
    probe = work / f"probe_{page.parent.name}.html"
    probe.write_text(text.replace("<head>", "<head>" + HEAD, 1).replace("</body>", TAIL + "</body>"))
    result = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
         "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r"IMAGES (\d+) BROKEN (\d+) ERRORS (\d+)", result.stdout)
    assert found, f"no probe result from chromium (exit {result.returncode}): {result.stderr[-400:]}"
    return dict(zip(("IMAGES", "BROKEN", "ERRORS"), map(int, found.groups()), strict=True))
