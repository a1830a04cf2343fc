"""The dashboard in Debian's headless Chromium (driven by Selenium through chromium-driver):
signed in through its form, it loads a province, switches language, sorts and filters the
coverage table, and its screenshot is not blank; under the API's Content-Security-Policy,
with nothing refused. The token never appears in an address: one given as ``?token=`` is
not used and is taken out of the address bar (a fault row)."""

from __future__ import annotations

import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from iotgw.api import create_app
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from iotgw.processes import free_port
from tests.api.conftest import DAY, PROVINCE, Stack
from tests.faults import ledger

pytestmark = pytest.mark.integration


def serve(stack: Stack) -> Iterator[str]:
    """The API of ``stack`` in a uvicorn thread: its address, until the generator closes
    (shared with the dashboard's page tests)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(stack.cfg), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def chromium() -> Iterator[webdriver.Chrome]:
    """Headless Chromium under chromedriver, its console logged (shared with the page tests)."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP refusals are logged there
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1400"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def served(stack: Stack) -> Iterator[str]:
    yield from serve(stack)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    yield from chromium()


def _distinct_pixel_bytes(png: bytes) -> int:
    """How many distinct byte values the image data holds (1 or 2 for a blank page)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    data, at = b"", 8
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        if kind == b"IDAT":
            data += png[at + 8:at + 8 + length]
        at += 12 + length
    return len(set(zlib.decompress(data)))


def sign_in(browser: webdriver.Chrome, token: str) -> None:
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.ID, "signin-button").click()


def _session_token(browser: webdriver.Chrome) -> str | None:
    return browser.execute_script("return sessionStorage.getItem('iotgw-token')")


def test_dashboard_language_sorting_filter_and_screenshot(
        served: str, browser: webdriver.Chrome, stack: Stack, tmp_path: Path) -> None:
    token = stack.tokens["dong_thap"]
    browser.get(f"{served}/?province={PROVINCE}&date={DAY}")
    wait = WebDriverWait(browser, 30)
    assert browser.find_element(By.ID, "status").text == "Nhập mã truy cập để đăng nhập"
    assert not browser.find_elements(By.CSS_SELECTOR, "#coverage tbody tr")
    sign_in(browser, token)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#coverage tbody tr")) > 3)
    assert token not in browser.current_url
    assert _session_token(browser) == token
    assert browser.find_element(By.ID, "token").get_attribute("value") == ""  # not left in the form
    browser.refresh()  # the session keeps it: no second sign-in
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#coverage tbody tr")) > 3)
    assert not browser.find_element(By.ID, "signin").is_displayed()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Chỉ tiêu kinh tế số và IoT"
    progress = browser.find_element(By.CSS_SELECTOR, "[data-indicator=farms_coops_using_platform]")
    assert "66,7 %" in progress.text

    browser.find_element(By.ID, "lang").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Digital economy and IoT indicators"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.find_element(By.ID, "status").text.startswith("Loaded: ")
    assert "Farms and agricultural cooperatives" in browser.find_element(
        By.CSS_SELECTOR, "[data-indicator=farms_coops_using_platform]").text

    browser.find_element(By.CSS_SELECTOR, "#coverage th[data-key=active]").click()
    first = browser.find_element(By.CSS_SELECTOR, "#coverage tbody tr td:nth-child(3)")
    assert first.text == "2"  # the households' commune: both meters active, own province sees them
    header = browser.find_element(By.CSS_SELECTOR, "#coverage th[data-key=active]")
    assert "sorted" in header.get_attribute("class")

    all_rows = len(browser.find_elements(By.CSS_SELECTOR, "#coverage tbody tr"))
    name = browser.find_element(By.CSS_SELECTOR, "#coverage tbody tr td").text
    browser.find_element(By.ID, "filter").send_keys(name)
    filtered = browser.find_elements(By.CSS_SELECTOR, "#coverage tbody tr")
    assert 1 <= len(filtered) < all_rows and all(name in row.text for row in filtered)

    shot = tmp_path / "dashboard.png"
    assert browser.save_screenshot(str(shot))
    png = shot.read_bytes()
    assert len(png) > 10_000 and _distinct_pixel_bytes(png) > 20

    refused = [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert refused == []
    assert token not in browser.current_url
    browser.find_element(By.ID, "signout").click()
    assert _session_token(browser) is None and browser.find_element(By.ID, "signin").is_displayed()
    assert browser.find_element(By.ID, "status").text == "Signed out"
    assert not browser.find_elements(By.CSS_SELECTOR, "#coverage tbody tr, #indicators div")


@pytest.mark.faults
def test_a_token_in_the_address_is_not_used_and_is_removed(
        served: str, browser: webdriver.Chrome, stack: Stack) -> None:
    token = stack.tokens["dong_thap"]
    browser.get(f"{served}/?token={token}&province={PROVINCE}&date={DAY}")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.find_element(By.ID, "status").text.startswith("Không nhận mã truy cập"))
    address = browser.current_url
    loaded = len(browser.find_elements(By.CSS_SELECTOR, "#coverage tbody tr"))
    kept = _session_token(browser)
    fetched = browser.execute_script("return performance.getEntriesByType('resource')"
                                     ".map((e) => e.name).filter((n) => n.includes('/v1/'))")
    ok = (token not in address and address.endswith(f"/?province={PROVINCE}&date={DAY}")
          and loaded == 0 and kept is None and fetched == []
          and browser.find_element(By.ID, "signin").is_displayed())
    ledger.refused("API token in the dashboard's address (?token=)", ok=ok,
                   verdict=f"address now {address.removeprefix(served)!r}, {len(fetched)} API requests, "
                           f"{loaded} rows loaded, token {'KEPT' if kept else 'not kept'}")
