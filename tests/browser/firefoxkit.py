"""Debian's Firefox ESR, the engine of Tor Browser, driven over Marionette as
a reporter on Tor Browser's "Safest" level meets the site: JavaScript off,
a fresh profile, Tor Browser's ``en-US`` language, nothing fetched from the
network by the browser itself.

No geckodriver: ``marionette-driver`` speaks Marionette's protocol to
``firefox-esr -marionette -headless`` directly.

Measuring (how wide the document is, where a word's line boxes fall) runs in
Marionette's own script sandbox, which ``javascript.enabled=false`` does not
stop: it is the driver's instrument, like Chromium's DevTools protocol in
browserkit.py. The page's own scripts never run; ``page_script_runs`` proves
it for every browser before it is used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from browserkit import INTERACTIVE, MIN_TAP_PX, NAVIGATION_TIMEOUT, Box, Steps
from harness import free_port

DESKTOP = (1280, 900)
PHONE = (360, 740)
STARTUP_TIMEOUT = 60  # seconds; a cold start on a busy two-core machine takes a few

# Tor Browser's own choices that matter to a page, and the switches that keep
# Firefox from calling home: CI has no network, and a test browser has no
# business there either.
PREFS: dict[str, object] = {
    "javascript.enabled": False,
    "intl.accept_languages": "en-US",
    "toolkit.legacyUserProfileCustomizations.stylesheets": True,  # reads chrome/userChrome.css
    # Scrollbars over the page as on a phone, so a 360 px window lays pages out 360 px wide.
    "ui.useOverlayScrollbars": 1,
    # Start and first run: a blank page, no welcome, no questions.
    "browser.startup.page": 0,
    "browser.startup.homepage": "about:blank",
    "startup.homepage_welcome_url": "about:blank",
    "startup.homepage_welcome_url.additional": "",
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.newtabpage.enabled": False,
    "browser.tabs.warnOnClose": False,
    "browser.sessionstore.resume_from_crash": False,
    "browser.backup.enabled": False,
    "datareporting.policy.dataSubmissionPolicyBypassNotification": True,
    # Updates of the browser, its add-ons, search engines and media plugins.
    "app.update.auto": False,
    "app.update.disabledForTesting": True,
    "app.update.checkInstallTime": False,
    "extensions.update.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.blocklist.enabled": False,
    "browser.search.update": False,
    "browser.region.update.enabled": False,
    "browser.region.network.url": "",
    "media.gmp-manager.updateEnabled": False,
    "media.gmp-gmpopenh264.enabled": False,
    # Telemetry, studies, experiments, Normandy, remote settings.
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.archive.enabled": False,
    "toolkit.telemetry.server": "",
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.usage.uploadEnabled": False,
    "browser.ping-centre.telemetry": False,
    "app.shield.optoutstudies.enabled": False,
    "app.normandy.enabled": False,
    "app.normandy.api_url": "",
    "messaging-system.rsexperimentloader.enabled": False,
    "services.settings.server": "data:,#remote-settings-off",
    "security.remote_settings.crlite_filters.enabled": False,
    "security.remote_settings.intermediates.enabled": False,
    "security.OCSP.enabled": 0,
    # Probes of the network: captive portal, connectivity, DNS over HTTPS, push.
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.trr.mode": 5,
    "dom.push.connection.enabled": False,
    "network.proxy.type": 0,
    # Safe Browsing lists and look-ups.
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.downloads.remote.enabled": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.update.enabled": False,
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    # Guesses ahead of the user, suggestions, location, accounts, machine learning.
    "network.dns.disablePrefetch": True,
    "network.prefetch-next": False,
    "network.http.speculative-parallel-limit": 0,
    "browser.urlbar.suggest.searches": False,
    "browser.search.suggest.enabled": False,
    "geo.enabled": False,
    "geo.provider.network.url": "",
    "identity.fxaccounts.enabled": False,
    "browser.translations.enable": False,
    "browser.ml.enable": False,
    "signon.rememberSignons": False,
}
# The window may be as narrow as a phone: Firefox's toolbars set minimum
# widths that would otherwise hold the window at ~450 px.
USER_CHROME = "* { min-width: 0 !important; }\n"

PROBE = ("<!DOCTYPE html><title>script did not run</title>"
         "<script>document.title = 'script ran'</script><p>probe</p>")

# Run in Marionette's sandbox (see the module's docstring).
WIDTHS = "return [document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth]"
SPLIT_WORDS = """
const split = [], letter = /[\\p{L}\\p{N}]/u;
const top = (node, start, end) => {
  const range = document.createRange();
  range.setStart(node, start);
  range.setEnd(node, end);
  return [...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top));
};
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  for (const word of node.data.matchAll(/\\S+/g)) {
    if (new Set(top(node, word.index, word.index + word[0].length)).size < 2) continue;
    for (let i = 1; i < word[0].length; i++) {
      const before = top(node, word.index + i - 1, word.index + i)[0];
      const after = top(node, word.index + i, word.index + i + 1)[0];
      if (before !== after && letter.test(word[0][i - 1]) && letter.test(word[0][i])) {
        split.push(word[0].slice(0, i) + "|" + word[0].slice(i));
      }
    }
  }
}
return split;
"""

# The same rules as browserkit.Browser.small_tap_targets and wider_than.
DESCRIBE = """
const describe = el => {
  let label = el.localName;
  if (el.id) label += "#" + el.id;
  else if (el.getAttribute("name")) label += "[name=" + el.getAttribute("name") + "]";
  else if (el.getAttribute("href")) label += "[href=" + el.getAttribute("href") + "]";
  const words = el.textContent.split(/\\s+/).filter(Boolean).join(" ");
  return words ? label + " \u201c" + words.slice(0, 40) + "\u201d" : label;
};
const rendered = el => el.getClientRects().length > 0;
"""
TAP_TARGETS = DESCRIBE + """
const [selector, minimum] = arguments;
const letter = /[\\p{L}\\p{N}]/u;
const small = [];
for (const el of document.querySelectorAll(selector)) {
  let box = el.getBoundingClientRect();
  if (!rendered(el) || box.right <= 0) continue;  // not rendered, or parked off-screen like the skip link
  const parent = el.parentElement;
  if (el.localName === "a" && parent &&
      [...parent.childNodes].some(n => n.nodeType === Node.TEXT_NODE && letter.test(n.data))) continue;
  if (el.type === "checkbox" || el.type === "radio") {
    const label = el.closest("label") || [...document.querySelectorAll("label")].find(l => el.id && l.htmlFor === el.id);
    if (label) box = label.getBoundingClientRect();
  }
  if (box.height + 0.5 < minimum) small.push(describe(el) + ": " + Math.round(box.height) + " px high");
}
return small;
"""
WIDER_THAN = DESCRIBE + """
const [width] = arguments;
return [...document.querySelectorAll("body *")].filter(el => rendered(el))
  .map(el => [el, el.getBoundingClientRect()]).filter(([, box]) => box.width && box.right > width + 0.5)
  .map(([el, box]) => describe(el) + " (right edge " + Math.round(box.right) + " px)");
"""


def firefox_path() -> str | None:
    return os.environ.get("WBS_FIREFOX") or shutil.which("firefox-esr") or shutil.which("firefox")


def has_marionette_driver() -> bool:
    try:
        import marionette_driver  # noqa: F401
    except ImportError:
        return False
    return True


def write_profile(profile: Path, port: int, *, js: bool) -> None:
    prefs = {**PREFS, "javascript.enabled": js, "marionette.port": port}
    (profile / "user.js").write_text("".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n"
                                             for k, v in prefs.items()))
    (profile / "chrome").mkdir()
    (profile / "chrome" / "userChrome.css").write_text(USER_CHROME)
    (profile / "probe.html").write_text(PROBE)


class Firefox:
    """One ``firefox-esr -marionette -headless`` with a fresh profile, one window of a given size."""

    def __init__(self, name: str, size: tuple[int, int], *, js: bool = False) -> None:
        from marionette_driver.marionette import Marionette

        self.name = name
        self.size = size
        self.js = js
        self.profile = Path(tempfile.mkdtemp(prefix=f"wbs-firefox-{name}-profile-"))
        port = free_port()
        write_profile(self.profile, port, js=js)
        self.log = self.profile / "firefox.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [firefox_path(), "-marionette", "-headless", "-no-remote", "-profile", str(self.profile)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            self.client = Marionette(host="127.0.0.1", port=port, socket_timeout=120)
            self.client.start_session(timeout=STARTUP_TIMEOUT)
            self.client.timeout.page_load = 120
            self.client.set_window_rect(width=size[0], height=size[1])
        except Exception:
            self.quit()
            raise

    def quit(self) -> None:
        try:
            if getattr(self, "client", None) is not None and self.client.session_id:
                self.client.delete_session(send_request=True)
        except Exception:
            pass  # the process is ended below either way
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)

    def page_script_runs(self) -> bool:
        """Load a page whose own script would retitle it: did it?"""
        self.client.navigate((self.profile / "probe.html").as_uri())
        return self.client.title == "script ran"

    def widths(self) -> tuple[int, int, int]:
        """(document scrollWidth, root clientWidth, window innerWidth) in CSS pixels."""
        return tuple(self.client.execute_script(WIDTHS))


class FirefoxBrowser(Steps):
    """A Firefox window as a journey's browser (browserkit.Steps), for one test."""

    def __init__(self, firefox: Firefox, name: str, shots: Path) -> None:
        self.firefox = firefox
        self.driver = firefox.client
        self.name = name
        self.shots = shots
        self.phone = firefox.size[0] <= PHONE[0]
        self.count = 0
        self.base = ""

    def screenshot(self, label: str) -> Path:
        self.count += 1
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{self.name}-{self.count:02d}-{label}.png"
        path.write_bytes(self.driver.screenshot(format="binary", full=True))
        return path

    def forget_site(self) -> None:
        """Drop the site's cookies (the session, the language) before the window serves another test."""
        if self.base and self.driver.get_url().startswith(self.base):
            self.driver.delete_all_cookies()

    # Driving the page ----------------------------------------------------------

    def open(self, path: str) -> None:
        self.driver.navigate(self.base + path)

    @property
    def path(self) -> str:
        url = self.driver.get_url()
        return url[len(self.base):] if url.startswith(self.base) else url

    def choose(self, select_id: str, value: str) -> None:
        """Pick an option as a person does: a click on it."""
        self.find(f'#{select_id} option[value="{value}"]').click()

    def chosen(self, select_id: str) -> str:
        return self.find(f"#{select_id}").get_property("value")

    def to_next_page(self, element) -> None:
        """Click what loads another page and wait until the old page's root is gone."""
        from marionette_driver.errors import StaleElementException

        old = self.find("html")
        element.click()
        deadline = time.monotonic() + NAVIGATION_TIMEOUT
        while time.monotonic() < deadline:
            try:
                old.tag_name
            except StaleElementException:
                return
            time.sleep(0.05)
        raise AssertionError(f"no new page {NAVIGATION_TIMEOUT} s after the click (still at {self.path})")

    # Measuring (Marionette's sandbox and element rects; no page script) -------

    def box_of(self, css: str) -> Box | None:
        """The border box of the first element matching ``css`` (None when not rendered)."""
        found = self.find_all(css)
        if not found:
            return None
        rect = found[0].rect
        if not rect["width"] and not rect["height"] and not found[0].is_displayed():
            return None
        return Box(css, rect["x"], rect["y"], rect["width"], rect["height"])

    def overflow(self) -> tuple[int, int]:
        """(content width, viewport width) in CSS pixels."""
        scroll, client, _ = self.firefox.widths()
        return scroll, client

    def small_tap_targets(self, minimum: int = MIN_TAP_PX) -> list[str]:
        """Links, buttons, fields and summaries shorter than ``minimum`` CSS px
        (a link in running text exempt, a checkbox measured by its label)."""
        return self.driver.execute_script(TAP_TARGETS, script_args=[INTERACTIVE, minimum])

    def wider_than(self, width: float) -> list[str]:
        """The elements whose right edge passes ``width`` CSS px."""
        return self.driver.execute_script(WIDER_THAN, script_args=[width])

    def split_words(self) -> list[str]:
        """Words the layout broke between two letters or digits ("Diterim|a").

        A break after a hyphen or a slash ("perundang-|undangan", "dan/|atau")
        is where the language allows one, and Firefox takes it.
        """
        return self.driver.execute_script(SPLIT_WORDS)
