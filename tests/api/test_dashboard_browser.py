"""The dashboard in Debian's headless Chromium (driven by Selenium through chromium-driver):
signed in through its form, it loads a province, switches language, sorts and filters the
coverage table, and its screenshot is not blank; under the API's Content-Security-Policy,
with nothing refused. The token never appears in an address: one given as ``?token=`` is
not used and is taken out of the address bar (a fault row). Its labels have both languages:
one without stops the labels' module as it loads."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import iotgw.api
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.api.conftest import DAY, PROVINCE, Stack
from tests.faults import ledger

pytestmark = pytest.mark.integration

LABELS = Path(iotgw.api.__file__).parent / "static" / "i18n.js"


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


def _import_labels(browser: webdriver.Chrome, source: str) -> dict:
    """What Chromium makes of ``source`` as the labels' module: ``{"text": TEXT}``, or
    ``{"error": ...}`` where it stopped as it loaded."""
    browser.get("about:blank")
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('data:text/javascript;charset=utf-8,' + encodeURIComponent(arguments[0]))"
        ".then((m) => done({text: m.TEXT}), (e) => done({error: String(e)}));", source)


def test_every_label_has_both_languages_and_one_without_stops_the_labels(browser: webdriver.Chrome) -> None:
    source = LABELS.read_text()
    text = _import_labels(browser, source)["text"]
    assert set(text) == {"vi", "en"} and text["vi"].keys() == text["en"].keys()
    assert (text["vi"]["mean"], text["en"]["mean"]) == ("trung bình", "mean")
    for broken in (" }", ', en: "" }', ', en: "mean", fr: "moyenne" }'):  # none, empty, one more
        edited = source.replace(', en: "mean" }', broken)
        assert edited != source
        assert '"mean" needs a text in each of vi,en' in _import_labels(browser, edited).get("error", "")
