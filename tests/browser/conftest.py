"""Fixtures for the browser tests: the tools they need, a real server, and
browsers whose every step leaves a screenshot (kept when the test fails).

On a developer's machine without Chromium, chromedriver, Firefox ESR, axe-core or the Nu
checker the tests that need them skip and say what is missing; under
``CI=true`` a missing tool is a failure, so CI cannot pass by skipping.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import browserkit
import firefoxkit
from harness import start_server
from skips import skip_or_fail

# pytest keeps the conftest it imported last as the module named `conftest`.
# When that is this one (browser and integration tests named together on the
# command line), the integration tests' `from conftest import …` must still
# find the integration harness.
from harness import ROOT, free_port, wbs, write_config  # noqa: F401,E402

SCREENS = pytest.StashKey["BrowserFactory | FirefoxWindows"]()


def require(ok: bool, what: str, how: str) -> None:
    """Skip when a tool is missing, or fail under CI where every tool must be there."""
    if not ok:
        skip_or_fail(f"{what} is missing: {how}")


def _selenium() -> bool:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="session")
def chromium() -> None:
    require(_selenium(), "selenium", "pip install -e '.[test]'")
    require(bool(browserkit.chromium_path()), "Chromium", "apt-get install chromium (or set WBS_CHROMIUM)")
    require(bool(browserkit.chromedriver_path()), "chromedriver",
            "apt-get install chromium-driver (or set WBS_CHROMEDRIVER)")


@pytest.fixture(scope="session")
def axe_source() -> str:
    require(browserkit.AXE_JS.is_file(), "axe-core", "npm ci --prefix tests/browser (or run .ci/run)")
    return browserkit.AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def vnu() -> list[str]:
    java = shutil.which("java")
    require(bool(java), "Java", "apt-get install default-jre-headless")
    require(browserkit.VNU_JAR.is_file(), "vnu-jar (the Nu HTML checker)", "npm ci --prefix tests/browser")
    return [java, "-jar", str(browserkit.VNU_JAR)]


class BrowserFactory:
    def __init__(self, shots: Path) -> None:
        self.shots = shots
        self.browsers: list[browserkit.Steps] = []

    def __call__(self, name: str, server=None, *, staff: bool = False, js: bool = False,
                 phone: bool = False) -> browserkit.Browser:
        browser = browserkit.Browser(name, self.shots, js=js, phone=phone)
        self.browsers.append(browser)
        # Every session proves what it is before it is used.
        assert browserkit.page_script_runs(browser.driver) == js, f"{name}: JavaScript should be {'on' if js else 'off'}"
        if server is not None:
            browser.base = f"http://127.0.0.1:{server.staff_port if staff else server.port}"
        return browser

    def capture_failure(self) -> list[Path]:
        return [path for b in self.browsers for path in b.capture_failure()]

    def close(self, passed: bool) -> None:
        for browser in self.browsers:
            self.release(browser)
        if passed:
            shutil.rmtree(self.shots, ignore_errors=True)

    def release(self, browser: browserkit.Browser) -> None:
        browser.quit()


@pytest.fixture
def browsers(chromium, request, tmp_path):
    """Make browsers with ``browsers(name, server, staff=…, js=…, phone=…)``.

    Each step's screenshot goes to ``<tmp_path>/screens``; the folder is kept
    (and named in the failure report) when the test fails, removed otherwise.
    """
    factory = BrowserFactory(tmp_path / "screens")
    request.node.stash[SCREENS] = factory
    yield factory
    report = getattr(request.node, "rep_call", None)
    factory.close(passed=bool(report and report.passed))


@pytest.fixture(scope="session")
def firefox() -> None:
    require(firefoxkit.has_marionette_driver(), "marionette-driver", "pip install -e '.[test]'")
    require(bool(firefoxkit.firefox_path()), "Firefox ESR", "apt-get install firefox-esr (or set WBS_FIREFOX)")


def _firefox_window(name: str, size: tuple[int, int]):
    window = firefoxkit.Firefox(name, size)
    try:
        # Every window proves what it is before it is used.
        assert not window.page_script_runs(), f"{name}: JavaScript should be off"
        yield window
    finally:
        window.quit()


# One Firefox per window size for the module that uses it: a start costs seconds, and
# each test's window forgets the site's cookies when the test ends.
@pytest.fixture(scope="module")
def firefox_desktop(firefox):
    yield from _firefox_window("desktop", firefoxkit.DESKTOP)


@pytest.fixture(scope="module")
def firefox_phone(firefox):
    yield from _firefox_window("phone", firefoxkit.PHONE)


class FirefoxWindows(BrowserFactory):
    """Like BrowserFactory, for the module's Firefox windows, which outlive the test."""

    def __call__(self, window: firefoxkit.Firefox, server) -> firefoxkit.FirefoxBrowser:
        browser = firefoxkit.FirefoxBrowser(window, f"firefox-{window.name}", self.shots)
        browser.base = f"http://127.0.0.1:{server.port}"
        self.browsers.append(browser)
        return browser

    def release(self, browser: firefoxkit.FirefoxBrowser) -> None:
        browser.forget_site()


@pytest.fixture
def firefox_windows(firefox, request, tmp_path):
    """``firefox_windows(firefox_phone, server)``: that window, on that server, for this test."""
    factory = FirefoxWindows(tmp_path / "screens")
    request.node.stash[SCREENS] = factory
    yield factory
    report = getattr(request.node, "rep_call", None)
    factory.close(passed=bool(report and report.passed))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call":
        item.rep_call = report
        factory = item.stash.get(SCREENS, None)
        if report.failed and factory is not None:
            saved = factory.capture_failure()
            report.sections.append(("browser screenshots", "\n".join(
                [f"every step of this test, and the page at failure, in {factory.shots}:"] +
                [f"  {p.name}" for p in sorted(factory.shots.glob('*'))] if factory.shots.exists() else
                [f"no screenshots ({saved})"])))
    return report


@pytest.fixture
def server(tmp_path):
    srv = start_server(tmp_path)
    yield srv
    srv.stop()
