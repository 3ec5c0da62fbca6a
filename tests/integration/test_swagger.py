"""Swagger UI on the local runtime, opened in headless Chromium: every operation of the document is listed, and
every asset comes from the runtime itself (no CDN).

It runs where a Chromium is found (CHROMIUM=/path/to/chrome, or chromium / chromium-browser / google-chrome on
PATH) and is skipped otherwise: tests install nothing. CI installs one first (.ci/run).
"""

import os
import re
import shutil
import subprocess

import pytest
import requests

pytestmark = pytest.mark.integration
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="module")
def chromium() -> str:
    found = os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, BROWSERS)), None)
    if not found:
        pytest.skip("no Chromium found (set CHROMIUM=/path, or install chromium): Swagger UI not opened in a browser")
    return found


def test_swagger_ui_lists_every_operation_from_local_assets(runtime, chromium):
    page = requests.get(f"{runtime.base_url}/swagger", timeout=10)
    assert page.status_code == 200
    assert not re.search(r"""(src|href)=["']https?://""", page.text)  # nothing from elsewhere
    for asset in re.findall(r"""(?:src|href)=["'](/swagger/assets/[^"']+)""", page.text):
        assert requests.get(runtime.base_url + asset, timeout=10).status_code == 200, asset
    document = requests.get(f"{runtime.base_url}/swagger/openapi.json", timeout=10).json()
    assert document["servers"][0]["url"] == runtime.base_url

    rendered = subprocess.run(
        [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=20000",
            "--dump-dom",
            f"{runtime.base_url}/swagger",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout

    shown = set(re.findall(r'data-path="([^"]+)"', rendered))
    documented = set(document["paths"])
    assert documented <= shown, sorted(documented - shown)
    assert "Customer profile service" in rendered
