"""The dashboard's national, province, commune and device pages in Debian's headless
Chromium, signed in with a ministry, a province and an organisation token: what each page
renders is compared with what the API answers the same token for the same query, nothing
the API refuses (a suppressed commune's households, a household's meter, another
province's or organisation's data) appears, the pages are usable from the keyboard, and
axe-core (``axe-selenium-python``) finds no serious or critical violation. Screenshots of
each page go to ``build/screenshots/``."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from axe_selenium_python import Axe
from iotgw.api.auth import create_token
from iotgw.registry import ApiRole, Device, make_engine, session_factory
from iotgw.rollup.periods import VIETNAM
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.api.conftest import DAY, PROVINCE, Stack
from tests.api.test_dashboard_browser import sign_in

pytestmark = pytest.mark.integration

DASH = "\u2013"  # an en dash: what the page shows for no number
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
SUPPRESSED_VI = "ẩn (quá ít hộ gia đình)"
EVIDENCE_VI = {"telemetry": "đo tự động", "platform_use": "dùng nền tảng", "declaration": "kê khai",
               "aggregate": "số tổng hợp"}
WAIT_S = 60


def vi_number(value: float | None, digits: int = 1) -> str:
    """A number as ``Intl.NumberFormat('vi-VN', {maximumFractionDigits})`` writes it."""
    if value is None:
        return DASH
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP).normalize()
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    groups = f"{int(whole):,}".replace(",", ".")
    return ("-" if rounded < 0 else "") + groups + ("," + fraction if fraction else "")


def _wait(browser: webdriver.Chrome, css: str, at_least: int = 1) -> list:
    WebDriverWait(browser, WAIT_S).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, css)) >= at_least)
    return browser.find_elements(By.CSS_SELECTOR, css)


def _loaded(browser: webdriver.Chrome) -> None:
    """Until the page says it loaded (or failed): every request of the page has answered."""
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "status").text.startswith(
        ("Đã tải", "Loaded", "Lỗi", "Error")))


def _follow(browser: webdriver.Chrome, act: Callable[[], object]) -> None:
    """Do ``act`` (a click, a key) with the status cleared, then wait for the page it loads."""
    browser.execute_script("document.getElementById('status').textContent = ''")
    act()
    _loaded(browser)


def _go(browser: webdriver.Chrome, fragment: str) -> None:
    browser.execute_script("document.getElementById('status').textContent = ''; location.hash = arguments[0]",
                           fragment)
    _loaded(browser)


def _axe(browser: webdriver.Chrome) -> list[str]:
    """The serious and critical violations axe-core finds on the page as shown."""
    axe = Axe(browser)
    axe.inject()
    found = axe.run()
    return [f"{v['id']}: {[(n['target'], [c['message'] for c in n['any']]) for n in v['nodes']][:5]}"
            for v in found["violations"] if v["impact"] in ("serious", "critical")]


def _shot(browser: webdriver.Chrome, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, max(900, min(3000, height + 40)))
    browser.execute_script("window.scrollTo(0, 0)")
    assert browser.save_screenshot(str(path))
    browser.set_window_size(1280, 1400)
    assert path.stat().st_size > 10_000
    return path


def _section_shots(browser: webdriver.Chrome, name: str, *sections: str) -> None:
    """One screenshot per section of a long page (the README shows them apart)."""
    for section in sections:
        element = browser.find_element(By.ID, section)
        browser.execute_script("arguments[0].scrollIntoView()", element)
        assert element.screenshot(str(SHOTS / f"{name}-{section.removesuffix('-view')}.png"))


def _csp_refusals(browser: webdriver.Chrome) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]


def _open(browser: webdriver.Chrome, served: str, token: str, query: str) -> None:
    browser.get(f"{served}/?{query}")
    sign_in(browser, token)
    _loaded(browser)


def test_national_page_matches_the_api(served: str, browser: webdriver.Chrome, stack: Stack) -> None:
    _open(browser, served, stack.tokens["ministry"], f"date={DAY}&period=year")
    assert browser.current_url.endswith("#/national")
    who = browser.find_element(By.ID, "whoami").text
    assert "ministry" in who and "Bộ, ngành" in who and "toàn quốc" in who
    catalogue = stack.get("/v1/indicators").json()
    compared = {i["id"]: stack.get(f"/v1/indicators/{i['id']}/provinces", period="year", **{"from": str(DAY)})
                .json() for i in catalogue}
    rows = _wait(browser, "#national tbody tr", sum(len(c["values"]) for c in compared.values()))
    assert len(rows) == 34 * len(catalogue)
    for indicator, found in compared.items():
        for value in found["values"]:
            row = browser.find_element(By.CSS_SELECTOR, f"#national tr[data-province='{value['province']}']"
                                                        f"[data-indicator='{indicator}']")
            shown = row.find_element(By.CSS_SELECTOR, "td[data-key=value]").text
            if value["suppressed"]:
                assert shown == SUPPRESSED_VI
            elif value["value"] is None:
                assert shown == "chưa có số liệu"
            else:
                assert shown.startswith(vi_number(value["value"]) + " ")
            assert row.find_element(By.CSS_SELECTOR, "td[data-key=area]").text == value["area"]
            mix = ", ".join(f"{EVIDENCE_VI[k]} {vi_number(n)}" for k, n in value["evidence"].items())
            assert row.find_element(By.CSS_SELECTOR, "td[data-key=evidence]").text == (mix or DASH)
            assert row.find_element(By.CSS_SELECTOR, "td[data-key=denominator_source]").text == (
                value["denominator_source"] or DASH)
            target = value["target"]  # the API's, and its gap: the page computes neither
            if target:
                shown_target = row.find_element(By.CSS_SELECTOR, "td[data-key=target]").text
                assert vi_number(target["value"]) in shown_target and f"({target['year']})" in shown_target
            gap = None if not target or target["gap"] is None else vi_number(target["gap"])
            assert row.find_element(By.CSS_SELECTOR, "td[data-key=gap]").text.split(" (")[0] == (gap or DASH)
    # Đồng Tháp's own target for 2026 (seed plan), and the gap to it.
    row = browser.find_element(By.CSS_SELECTOR, "#national tr[data-province='82']"
                                                "[data-indicator='smes_selling_on_ecommerce_platforms']")
    assert row.find_element(By.CSS_SELECTOR, "td[data-key=target]").text == "≥ 55 % (2026)"
    # Two households in Đồng Tháp: fewer than 5, so a ministry sees no household figure.
    households = compared["households_smart_metered"]["values"]
    assert [v["suppressed"] for v in households if v["province"] == PROVINCE] == [True]
    assert "meter-" not in browser.page_source and "home-" not in browser.page_source

    points = browser.find_elements(By.CSS_SELECTOR, "#national-map a.point")
    assert len(points) == 34
    # Coloured by the indicator chosen: 66.7 % falls in the fourth of five steps of 0-100 %.
    Select(browser.find_element(By.ID, "map-indicator")).select_by_value("farms_coops_using_platform")
    share = next(v["value"] for v in compared["farms_coops_using_platform"]["values"]
                 if v["province"] == PROVINCE)
    fill = browser.find_element(By.CSS_SELECTOR, f"#national-map a.point[data-key='{PROVINCE}'] circle")
    ramp = ["#deebf7", "#9ecae1", "#4292c6", "#2166ac", "#08306b"]
    assert fill.get_attribute("fill") == ramp[int(share // 20)]
    label = browser.find_element(By.CSS_SELECTOR, f"#national-map a.point[data-key='{PROVINCE}']")
    assert label.get_attribute("aria-label") == f"Đồng Tháp: {vi_number(share)} %"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#national-map .communes circle")) > 3000

    browser.find_element(By.CSS_SELECTOR, "#national th[data-key=value] button").click()
    values = [float(v["value"]) for f in compared.values() for v in f["values"] if v["value"] is not None]
    first = browser.find_element(By.CSS_SELECTOR, "#national tbody tr td[data-key=value]").text
    assert first.startswith(vi_number(max(values)) + " ")
    browser.find_element(By.ID, "national-filter").send_keys("Đồng Tháp")
    filtered = browser.find_elements(By.CSS_SELECTOR, "#national tbody tr")
    assert len(filtered) == len(catalogue) and {r.get_attribute("data-province") for r in filtered} == {"82"}

    _shot(browser, "national")
    assert _axe(browser) == []
    assert _csp_refusals(browser) == []

    # From the keyboard: the map's province is a link; Enter goes down to its page.
    point = browser.find_element(By.CSS_SELECTOR, f"#national-map a.point[data-key='{PROVINCE}']")
    browser.execute_script("arguments[0].focus()", point)
    _follow(browser, lambda: point.send_keys(Keys.ENTER))
    assert browser.current_url.endswith(f"#/province/{PROVINCE}")
    _wait(browser, "#coverage tbody tr", 3)


def _values_query(indicator: str, period: str) -> dict[str, object]:
    return {"province": PROVINCE, "period": period, "level": "province", "unit": PROVINCE,
            "from": f"{DAY.year - 1}-01-01", "to": str(DAY)}


@pytest.mark.parametrize("who", ["ministry", "dong_thap"])
def test_province_page_matches_the_api(served: str, browser: webdriver.Chrome, stack: Stack, who: str,
                                       tmp_path: Path) -> None:
    heartbeat = int(time.time() * 1000) - 3_600_000  # within the API's health window
    stack.influx.write_lines(stack.database, "gateway_health,gateway=gw-dt-1 online=true,buffer_depth=12,"
                                             f'read_errors=3,version="1.4.0" {heartbeat}')
    _open(browser, served, stack.tokens[who], f"province={PROVINCE}&date={DAY}&period=month")
    assert browser.current_url.endswith(f"#/province/{PROVINCE}")
    own = who == "dong_thap"
    catalogue = stack.get("/v1/indicators", who=who).json()
    cards = _wait(browser, "#indicators article.card", len(catalogue))
    assert len(cards) == len(catalogue)
    for indicator in catalogue:
        found = stack.get(f"/v1/indicators/{indicator['id']}/values", who=who,
                          **_values_query(indicator["id"], "month")).json()
        label = browser.find_element(By.CSS_SELECTOR,
                                     f"#indicators div[data-indicator={indicator['id']}]").text
        last = found["values"][-1] if found["values"] else None
        if last is None:
            assert label == "chưa có số liệu"
        elif last["suppressed"]:
            assert label == f"{last['period']}: {SUPPRESSED_VI}"
        else:
            assert label.startswith(f"{last['period']}: {vi_number(last['value'])} ")
        card = browser.find_element(By.CSS_SELECTOR, f"#indicators article[data-indicator={indicator['id']}]")
        if last and last["target"] and not last["suppressed"]:
            progress = card.find_element(By.CSS_SELECTOR, ".progress").text
            assert vi_number(last["target"]["value"]) in progress
            assert str(last["target"]["year"]) in progress
            assert card.find_elements(By.CSS_SELECTOR, "svg.trajectory .mark")
        if found["areas"]:
            assert found["areas"][0]["name"] in card.text
    metered = browser.find_element(By.CSS_SELECTOR,
                                   "#indicators div[data-indicator=households_smart_metered]").text
    assert (SUPPRESSED_VI in metered) != own

    coverage = stack.get(f"/v1/provinces/{PROVINCE}/coverage", who=who, date=str(DAY)).json()
    rows = _wait(browser, "#coverage tbody tr", len(coverage["communes"]))
    assert len(rows) == len(coverage["communes"])
    for commune in coverage["communes"]:
        row = browser.find_element(By.CSS_SELECTOR, f"#coverage tr[data-commune='{commune['commune']}']")
        cell = {k: row.find_element(By.CSS_SELECTOR, f"td[data-key={k}]").text
                for k in ("devices", "active", "households")}
        assert cell["devices"] == str(commune["devices"]) and cell["active"] == str(commune["active"])
        assert cell["households"] == (SUPPRESSED_VI if commune["suppressed"] else str(commune["households"]))
        if commune["last_seen"]:  # Vietnam time, Vietnamese short format: 23:00 10/3/26
            seen = dt.datetime.fromisoformat(commune["last_seen"]).astimezone(VIETNAM)
            assert row.find_element(By.CSS_SELECTOR, "td[data-key=last_seen]").text == (
                f"{seen:%H:%M} {seen.day}/{seen.month}/{seen:%y}")
    households_ward = stack.wards[3]
    hidden = browser.find_element(By.CSS_SELECTOR, f"#coverage tr[data-commune='{households_ward}']")
    assert (hidden.find_element(By.CSS_SELECTOR, "td[data-key=households]").text == "2") == own
    assert (hidden.find_element(By.CSS_SELECTOR, "td[data-key=devices]").text == "2") == own

    sectors: dict[str, int] = {}
    for commune in coverage["communes"]:
        for sector, count in commune["active_by_sector"].items():
            sectors[sector] = sectors.get(sector, 0) + count
    shown = {r.get_attribute("data-key"): r.find_elements(By.TAG_NAME, "td")[1].text
             for r in browser.find_elements(By.CSS_SELECTOR, "#sectors tbody tr")}
    assert shown == {k: str(v) for k, v in sectors.items()}
    assert ("energy" in shown) == own  # the households' meters are the only energy devices

    gateways = stack.get("/v1/gateways", who=who, province=PROVINCE).json()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#gateways tbody tr")) == len(gateways)
    row = browser.find_element(By.CSS_SELECTOR, "#gateways tr[data-gateway='gw-dt-1']")
    health = gateways[0]["health"]
    for key in ("buffer_depth", "read_errors"):
        assert row.find_element(By.CSS_SELECTOR, f"td[data-key={key}]").text == vi_number(health.get(key), 0)
    assert (health["buffer_depth"], health["read_errors"], health["version"]) == (12, 3, "1.4.0")
    assert row.find_element(By.CSS_SELECTOR, "td[data-key=version]").text == "1.4.0"
    state = {True: "trực tuyến", False: "ngoại tuyến", None: "không rõ"}[health.get("online")]
    assert row.find_element(By.CSS_SELECTOR, "td[data-key=status]").text.startswith(state)

    due = stack.get(f"/v1/provinces/{PROVINCE}/reports", who=who, year=[DAY.year - 1, DAY.year]).json()
    reports = browser.find_elements(By.CSS_SELECTOR, "#reports tbody tr")
    assert [r.get_attribute("data-report") for r in reports] == [
        f"{r['year']}-{r['part']}" for r in due["reports"]]
    for report, row in zip(due["reports"], reports, strict=True):
        state = row.find_element(By.CSS_SELECTOR, "td[data-key=status]").text
        words = {"due": "chưa đến hạn", "late": "quá hạn", "filed": "đã nộp"}
        assert state.startswith(words[report["status"]])
    # Download: the file the page saves is the API's report for the same token.
    browser.execute_cdp_cmd("Browser.setDownloadBehavior",
                            {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.find_element(By.CSS_SELECTOR, f"#reports button[data-download='{DAY.year}/H1.csv']").click()
    saved = tmp_path / f"iotgw-{PROVINCE}-{DAY.year}-H1.csv"
    deadline = time.monotonic() + WAIT_S
    while not saved.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    stamp = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
    expected = stack.get(f"/v1/provinces/{PROVINCE}/reports/{DAY.year}/H1.csv", who=who).content
    assert [line for line in saved.read_bytes().splitlines() if not stamp.search(line.decode())] == [
        line for line in expected.splitlines() if not stamp.search(line.decode())]

    points = browser.find_elements(By.CSS_SELECTOR, "#province-map a.point")
    assert len(points) == len([c for c in stack.get(f"/v1/provinces/{PROVINCE}/communes", who=who).json()
                               if c["latitude"] is not None]) > 50
    if not own:
        assert "meter-" not in browser.page_source and "home-" not in browser.page_source
    _shot(browser, f"province-{who}")
    _section_shots(browser, f"province-{who}", "province-view", "breakdown-view", "coverage-view",
                   "gateways-view", "reports-view")
    assert _axe(browser) == []
    assert _csp_refusals(browser) == []


def _place_soil_probe(stack: Stack) -> None:
    with session_factory(make_engine(stack.registry_url))() as session, session.begin():
        device = session.get(Device, "soil-1")
        device.latitude, device.longitude = 10.4601, 105.6329


@pytest.mark.parametrize("who", ["ministry", "dong_thap"])
def test_commune_and_device_pages(served: str, browser: webdriver.Chrome, stack: Stack, who: str) -> None:
    _place_soil_probe(stack)
    _open(browser, served, stack.tokens[who], f"province={PROVINCE}&date={DAY}&period=month")
    own = who == "dong_thap"
    households_ward = stack.wards[3]
    _go(browser, f"#/commune/{PROVINCE}/{households_ward}")
    found = stack.get(f"/v1/provinces/{PROVINCE}/communes/{households_ward}/devices", who=who).json()
    listed = [r.get_attribute("data-device") for r in browser.find_elements(By.CSS_SELECTOR,
                                                                            "#commune-devices tbody tr")]
    assert listed == [d["id"] for d in found["devices"]] == (["meter-1", "meter-2"] if own else [])
    summary = browser.find_element(By.CSS_SELECTOR, "#commune-summary dd[data-key=households]").text
    assert summary == ("2" if own else SUPPRESSED_VI)
    if not own:
        assert "meter-" not in browser.page_source and "home-" not in browser.page_source

    # Down from the province page's table: the farm's commune, then its probe.
    _go(browser, f"#/province/{PROVINCE}")
    farm = browser.find_element(By.CSS_SELECTOR, f"#coverage tr[data-commune='{stack.wards[0]}'] a")
    _follow(browser, farm.click)
    row = _wait(browser, "#commune-devices tr[data-device='soil-1']")[0]
    on_map = browser.find_elements(By.CSS_SELECTOR, "#commune-map a.point")
    assert [a.get_attribute("data-key") for a in on_map] == ["soil-1"]
    assert row.find_elements(By.TAG_NAME, "td")[4].text == "10,4601, 105,6329"
    assert row.find_elements(By.TAG_NAME, "td")[1].text == "Cảm biến đất đồng ruộng"
    _shot(browser, f"commune-{who}")
    assert _axe(browser) == []
    _follow(browser, row.find_element(By.TAG_NAME, "a").click)
    assert browser.current_url.endswith("#/device/soil-1")

    end = f"{DAY.isoformat()}T00:00:00+07:00"
    assert Select(browser.find_element(By.ID, "range")).first_selected_option.get_attribute("value") == "1"
    for days, resolution, field in ((7, "hour", "soil_moisture_mean"), (1, "raw", "soil_moisture")):
        _follow(browser, lambda d=days: Select(browser.find_element(By.ID, "range")).select_by_value(str(d)))
        start = (DAY.toordinal() - days + 1)
        readings = stack.get("/v1/devices/soil-1/readings", who=who, resolution=resolution, **{
            "from": f"{type(DAY).fromordinal(start).isoformat()}T00:00:00+07:00",
            "to": f"{type(DAY).fromordinal(DAY.toordinal() + 1).isoformat()}T00:00:00+07:00"}).json()
        assert end and readings["readings"] and all(field in r for r in readings["readings"])
        chart = _wait(browser, "svg.chart[data-quantity=soil_moisture]")[0]
        points = chart.find_element(By.CSS_SELECTOR, "polyline.series").get_attribute("points").split()
        assert len(points) == len(readings["readings"])
        assert "Độ ẩm đất" in chart.find_element(By.CSS_SELECTOR, ".unit").text
        assert "(%)" in chart.find_element(By.CSS_SELECTOR, ".unit").text
        assert len(chart.find_elements(By.CSS_SELECTOR, ".axis text")) >= 6, [
            e.text for e in chart.find_elements(By.CSS_SELECTOR, ".axis text")]
    browser.find_element(By.ID, "lang").click()
    assert browser.find_element(By.CSS_SELECTOR, "svg.chart .unit").text == "Soil moisture (%)"
    _shot(browser, f"device-{who}")
    assert _axe(browser) == []
    assert _csp_refusals(browser) == []


def test_an_organisation_sees_its_own_devices_only(served: str, browser: webdriver.Chrome,
                                                   stack: Stack) -> None:
    with session_factory(make_engine(stack.registry_url))() as session, session.begin():
        token = create_token(session, "farm-1-app", ApiRole.ORGANISATION, organisation="farm-1")
    _open(browser, served, token, f"date={DAY}")
    assert browser.current_url.endswith("#/device/soil-1") or browser.current_url.endswith("#/device")
    assert "farm-1" in browser.find_element(By.ID, "whoami").text
    listed = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#own-devices a")]
    assert listed == ["soil-1 (Cảm biến đất đồng ruộng)"]
    _wait(browser, "svg.chart[data-quantity=soil_moisture]")
    assert not browser.find_element(By.ID, "nav-national").is_displayed()
    assert not browser.find_element(By.ID, "nav-province").is_displayed()
    _shot(browser, "device-organisation")
    assert _axe(browser) == []
    # What the API refuses the token, the page does not show: another device, the province.
    _go(browser, "#/device/aq-1")
    assert browser.find_element(By.ID, "status").text.startswith("Lỗi 403")
    assert not browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    _go(browser, f"#/province/{PROVINCE}")
    assert browser.find_element(By.ID, "status").text.startswith("Lỗi 403")
    assert not browser.find_elements(By.CSS_SELECTOR, "#coverage tbody tr, #indicators article")
    _go(browser, "#/national")
    assert browser.find_element(By.ID, "status").text.startswith("Lỗi 403")
    assert not browser.find_elements(By.CSS_SELECTOR, "#national tbody tr")
