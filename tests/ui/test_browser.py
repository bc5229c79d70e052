"""The UI in a real browser: headless Chromium (Debian's chromium + chromium-driver) driven
by Selenium, against the app served by werkzeug on a loopback port over a populated SQLite
control DB.

Flows: sign in; filter and edit a table (with an inline validation error); bulk edit with
preview; a promotion request, refused self-approval, approval by a second user, rollback;
acknowledging a ``needs_attention`` table; the dashboard drawing its charts. Every wait
polls with a deadline (``WebDriverWait``); nothing sleeps a fixed time.

Screenshots of each page are taken on the way. With ``DATALOADER_UPDATE_SCREENSHOTS=1``
they are written to ``docs/assets/ui/`` (the guide's pictures); otherwise to a temporary
directory. Either way each must decode to a non-blank image.

The driver and browser are the system's (``/usr/bin/chromedriver``, ``/usr/bin/chromium``,
installed by ``scripts/setup-system.sh``); selenium-manager is never asked to download one.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.ui._populate import PASSWORDS
from tests.ui.conftest import control_db

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "assets" / "ui"
WAIT = 20.0  # seconds: the deadline of every poll


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """One headless Chromium for the module (cookies cleared between flows)."""
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), (
        "the browser tests need Debian's chromium and chromium-driver: run "
        "scripts/setup-system.sh (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--disable-gpu", "--window-size=1280,900", "--lang=en-US",
                "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    mp = pytest.MonkeyPatch()
    mp.setenv("SE_OFFLINE", "true")  # selenium-manager must never fetch anything
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                               options=options)
    try:
        yield browser
    finally:
        browser.quit()
        mp.undo()


@pytest.fixture
def base_url(ui_app: Flask) -> Iterator[str]:
    """The test's app served on 127.0.0.1 (a free port) by werkzeug in a thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, ui_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=WAIT)


@pytest.fixture
def shots(tmp_path: Path) -> Callable[[Any, str], Path]:
    """``shot(driver, name)``: a full-window screenshot, checked to be non-blank."""
    update = os.environ.get("DATALOADER_UPDATE_SCREENSHOTS") == "1"
    folder = DOCS_SHOTS if update else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)

    def shot(browser: Any, name: str) -> Path:
        png = browser.get_screenshot_as_png()
        assert _distinct_pixels(png) > 50, f"screenshot {name} is blank"
        path = folder / f"{name}.png"
        path.write_bytes(png)
        return path

    return shot


def _distinct_pixels(png: bytes) -> int:
    """How many distinct colours the PNG's pixels have (decoded with zlib, no imaging lib)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 4
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        data = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            assert depth == 8, depth
            channels = {2: 3, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    colours: set[bytes] = set()
    for y in range(height):
        filt = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):  # undo the PNG filters (sub, up, average, paeth)
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if filt == 1:
                line[i] = (line[i] + a) & 0xFF
            elif filt == 2:
                line[i] = (line[i] + b) & 0xFF
            elif filt == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc
                                      else c)) & 0xFF
        if y % 8 == 0:  # sample rows: enough to tell a page from a blank one
            colours.update(bytes(line[x:x + channels]) for x in range(0, stride, channels))
        prev = line
    return len(colours)


# -- helpers -------------------------------------------------------------------------


def _wait(browser: Any, condition: Callable[[Any], Any], what: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, WAIT, poll_frequency=0.05).until(
        condition, message=f"timed out waiting for {what}")


def _by_id(browser: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return _wait(browser, lambda d: d.find_element(By.ID, element_id), f"#{element_id}")


def _css(browser: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, selector), selector)


def _page_text(browser: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(browser.find_element(By.TAG_NAME, "body").text)


def _wait_text(browser: Any, text: str) -> None:
    _wait(browser, lambda d: text in _page_text(d), repr(text))


def _submit(browser: Any, selector: str) -> None:
    """Click a submit button and wait for the next page to replace this one."""
    old = _css(browser, "html")
    _css(browser, selector).click()
    _wait(browser, lambda d: _stale(old), f"the page after clicking {selector}")


def _node_gone(exc: Exception) -> bool:
    """Whether a WebDriver error means "that node was replaced" (the page or a swap moved on).

    Chromedriver usually says so with StaleElementReferenceException, but mid-navigation it may
    report "does not belong to the document" instead (seen in CI). Any other error is real.
    """
    from selenium.common.exceptions import StaleElementReferenceException

    return isinstance(exc, StaleElementReferenceException) or (
        "does not belong to the document" in str(exc))


def _stale(element: Any) -> bool:
    from selenium.common.exceptions import WebDriverException

    try:
        element.tag_name  # noqa: B018 - touching it raises once the page changed
    except WebDriverException as exc:
        if _node_gone(exc):
            return True
        raise
    return False


def _sign_in(browser: Any, base_url: str, user: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{base_url}/login")
    _by_id(browser, "username").send_keys(user)
    _by_id(browser, "password").send_keys(PASSWORDS[user])
    _submit(browser, "main button[type=submit]")
    _wait_text(browser, f"{user} (")


def _rows(browser: Any) -> list[str]:
    """The table names the tables list shows now (``[]`` while it is being replaced)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    try:
        return [r.get_attribute("data-table")
                for r in browser.find_elements(By.CSS_SELECTOR, "tr[data-table]")]
    except WebDriverException as exc:
        if _node_gone(exc):
            return []
        raise


def _fill(browser: Any, element_id: str, value: str) -> None:
    field = _by_id(browser, element_id)
    field.clear()
    field.send_keys(value)


def _select(browser: Any, element_id: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(_by_id(browser, element_id)).select_by_value(value)


def _prod_row(home: Path, name: str, column: str) -> Any:
    with control_db(home) as conn:
        row = conn.execute(f"SELECT {column} FROM table_control WHERE name = ?",
                           (name,)).fetchone()
    return None if row is None else row[0]


# -- flows -----------------------------------------------------------------------------


def test_sign_in_and_dashboard_charts(driver: Any, base_url: str, shots: Any) -> None:
    driver.delete_all_cookies()
    driver.get(f"{base_url}/")
    _by_id(driver, "username")  # sent to the sign-in page
    shots(driver, "login")
    _fill(driver, "username", "viewer")
    _fill(driver, "password", "wrong-password")
    _submit(driver, "main button[type=submit]")
    _wait_text(driver, "Unknown user or wrong password.")
    _sign_in(driver, base_url, "viewer")
    driver.get(f"{base_url}/")
    _wait(driver, lambda d: _css(d, "#chart-status").get_attribute("data-ready") == "true",
          "the charts to be drawn")
    charts = driver.execute_script("return Object.keys(Chart.instances).length")
    assert charts >= 2
    painted = driver.execute_script("""
        return Array.from(document.querySelectorAll('canvas')).map(function (c) {
          var px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, n = 0;
          for (var i = 3; i < px.length; i += 4) { if (px[i] !== 0) { n++; } }
          return n;
        });""")
    assert len(painted) >= 2 and all(n > 100 for n in painted), painted
    shots(driver, "dashboard")


def test_filter_and_edit_a_table_with_inline_error(
        driver: Any, base_url: str, ui_home: Path, shots: Any) -> None:
    _sign_in(driver, base_url, "editor")
    driver.get(f"{base_url}/tables/")
    _wait(driver, lambda d: len(_rows(d)) >= 5, "the unfiltered list")
    _fill(driver, "f-q", "ord")  # the list filters in place as you type (htmx)
    _wait(driver, lambda d: _rows(d) == ["orders"], "the list filtered to orders")
    assert "q=ord" in driver.current_url  # the filter is in the address (bookmarkable)
    shots(driver, "tables")
    driver.get(f"{base_url}/tables/orders")
    _wait_text(driver, "orders")
    shots(driver, "table-detail")
    driver.get(f"{base_url}/tables/orders/edit")
    _fill(driver, "target", "not a target!")
    _submit(driver, "main form button[type=submit]")
    error = _by_id(driver, "target-error")  # inline, next to its field
    assert error.text
    assert _by_id(driver, "target").get_attribute("aria-invalid") == "true"
    shots(driver, "table-edit-error")
    _fill(driver, "target", "bronze.orders")
    _fill(driver, "priority", "42")
    _submit(driver, "main form button[type=submit]")
    _wait(driver, lambda d: "/edit" not in d.current_url, "the saved table")
    assert _prod_row(ui_home, "orders", "priority") == 42


def test_bulk_edit_with_preview(driver: Any, base_url: str, ui_home: Path, shots: Any) -> None:
    _sign_in(driver, base_url, "editor")
    driver.get(f"{base_url}/bulk/?source=erp")
    _css(driver, "input[name=names][value=customers]").click()  # uncheck one
    _fill(driver, "set_priority", "77")
    shots(driver, "bulk-select")
    _submit(driver, "#bulk-preview")
    table = _by_id(driver, "bulk-diff")
    assert "orders" in table.text and "customers" not in table.text
    assert _prod_row(ui_home, "orders", "priority") == 0  # the preview wrote nothing
    shots(driver, "bulk-preview")
    # Tablet width: the page reflows; wide tables scroll inside their box, not the page.
    driver.set_window_size(820, 1180)
    try:
        _wait(driver, lambda d: d.execute_script("return window.innerWidth") <= 820,
              "the tablet-width window")
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the preview is {overflow}px wider than a tablet screen"
    finally:
        driver.set_window_size(1280, 900)
    _submit(driver, "#bulk-apply")
    _wait_text(driver, "in one change set")
    assert _prod_row(ui_home, "orders", "priority") == 77
    assert _prod_row(ui_home, "customers", "priority") == 1
    shots(driver, "history")
    driver.get(f"{base_url}/history/runs")
    _by_id(driver, "runs-table")
    shots(driver, "runs")


def test_promotion_request_refused_self_approval_second_approver_rollback(
        driver: Any, base_url: str, ui_home: Path, shots: Any) -> None:
    _sign_in(driver, base_url, "approver")
    driver.get(f"{base_url}/promotion/")
    _by_id(driver, "promotion-diff")
    shots(driver, "promotion")
    _fill(driver, "note", "faster orders")
    _submit(driver, "#promotion-request")
    status = _by_id(driver, "promotion-status")
    assert status.text == "requested"
    detail_url = driver.current_url
    _submit(driver, "#promotion-approve")  # by its requester: refused
    _wait_text(driver, "cannot approve it too")
    assert _by_id(driver, "promotion-status").text == "requested"
    assert _prod_row(ui_home, "orders", "interval_seconds") == 3600
    _sign_in(driver, base_url, "approver2")
    driver.get(detail_url)
    _submit(driver, "#promotion-approve")
    _wait(driver, lambda d: _by_id(d, "promotion-status").text == "applied", "applied")
    assert _prod_row(ui_home, "orders", "interval_seconds") == 900
    assert _prod_row(ui_home, "returns", "name") == "returns"
    shots(driver, "promotion-detail")
    driver.execute_script("window.confirm = function () { return true; };")
    _submit(driver, "#promotion-rollback")
    _wait(driver, lambda d: _by_id(d, "promotion-status").text == "rolled_back",
          "rolled back")
    assert _prod_row(ui_home, "orders", "interval_seconds") == 3600
    assert _prod_row(ui_home, "returns", "name") is None


def test_acknowledge_a_table_that_needs_attention(
        driver: Any, base_url: str, ui_home: Path, shots: Any) -> None:
    assert _prod_row(ui_home, "payments", "status") == "needs_attention"
    _sign_in(driver, base_url, "editor")
    driver.get(f"{base_url}/tables/?status=needs_attention")
    _wait_text(driver, "payments")
    driver.get(f"{base_url}/tables/payments")
    _submit(driver, "form[action$='/acknowledge'] button")
    _wait(driver, lambda d: _prod_row(ui_home, "payments", "status") == "idle",
          "payments to be idle")
    driver.get(f"{base_url}/sources/")
    _wait_text(driver, "erp")
    shots(driver, "sources")
