"""Debian's Chromium through chromedriver, as a reporter on Tor Browser's
"Safest" level would meet the site: JavaScript off, a fresh profile, no
network but loopback.

What the tests measure (layout, tap targets) they measure through the
DevTools protocol (``DOM.*``, ``Page.getLayoutMetrics``), which needs no
script in the page. Only the accessibility audit runs JavaScript (axe-core),
in a session of its own (``js=True``): see test_accessibility.py.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODE_MODULES = Path(os.environ.get("WBS_NODE_MODULES", HERE / "node_modules"))
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"

# The flags known to work on this project's machines (no GPU, no sandbox as
# root, nothing fetched from the network by the browser itself).
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--lang=en-US",  # what Tor Browser announces; also fixes how a date field takes typed digits
]
JS_OFF_PREFS = {"profile.managed_default_content_settings.javascript": 2}
# No touch emulation: with it, chromedriver's clicks become taps that hang
# (until its 120 s timeout) when page script is off.
PHONE = {"width": 360, "height": 740, "pixelRatio": 2.0, "touch": False}

# Everything a keyboard or a finger can operate.
INTERACTIVE = "a[href], button, input:not([type=hidden]), select, textarea, summary"
MIN_TAP_PX = 44
NAVIGATION_TIMEOUT = 30  # seconds; a page of this site loads in well under one


def chromium_path() -> str | None:
    return os.environ.get("WBS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def chromedriver_path() -> str | None:
    return os.environ.get("WBS_CHROMEDRIVER") or shutil.which("chromedriver")


def new_driver(profile: Path, *, js: bool, phone: bool):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium_path()
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    if phone:
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": PHONE})
    else:
        options.add_argument("--window-size=1280,900")
    if not js:
        # Both switches: the content setting is what Tor Browser's "Safest" amounts
        # to; the Blink setting also stops script in data: and about: pages.
        options.add_argument("--blink-settings=scriptEnabled=false")
        options.add_experimental_option("prefs", JS_OFF_PREFS)
    # A path given to Service means Selenium Manager never runs (it would try the network).
    driver = webdriver.Chrome(options=options, service=Service(chromedriver_path()))
    driver.set_page_load_timeout(120)
    return driver


JS_PROBE = ("data:text/html;charset=utf-8,<title>script did not run</title>"
            "<script>document.title='script ran'</script><p>probe</p>")


def page_script_runs(driver) -> bool:
    """Load a page whose own script would retitle it: did it?"""
    driver.get(JS_PROBE)
    return driver.title == "script ran"


@dataclass
class Box:
    description: str
    x: float
    y: float
    width: float
    height: float


class Steps:
    """What a journey does with a page, whichever engine shows it. The subclass
    gives a WebDriver-style ``driver`` (Selenium's or Marionette's; both find
    elements with ``"css selector"``), ``screenshot``, ``open`` and ``to_next_page``."""

    name: str
    shots: Path
    count: int

    def step(self, label: str, check=None) -> None:
        """A screenshot of where the journey is, then the per-page check, if any."""
        self.screenshot(label)
        if check:
            check(self, label)

    def capture_failure(self) -> list[Path]:
        saved = []
        try:
            saved.append(self.screenshot("at-failure"))
            html = self.shots / f"{self.name}-{self.count:02d}-at-failure.html"
            html.write_text(self.driver.page_source)
            saved.append(html)
        except Exception as error:  # the browser itself may be what failed
            note = self.shots / f"{self.name}-no-capture.txt"
            note.write_text(f"{type(error).__name__}: {error}\n")
            saved.append(note)
        return saved

    def find(self, css: str):
        return self.driver.find_element("css selector", css)

    def find_all(self, css: str):
        return self.driver.find_elements("css selector", css)

    def type(self, field_id: str, text: str) -> None:
        element = self.find(f"#{field_id}")
        element.clear()
        element.send_keys(text)

    def fill_and_press(self, form_action: str, **texts: str) -> None:
        """Type each text into the field of that id, then send the form."""
        for field_id, text in texts.items():
            self.type(field_id, text)
        self.press(form_action)

    def value(self, field_id: str) -> str:
        return self.find(f"#{field_id}").get_property("value")

    def attach(self, field_id: str, *paths: Path) -> None:
        """Several files into one ``<input type=file multiple>``: one path a line."""
        self.find(f"#{field_id}").send_keys("\n".join(str(p) for p in paths))

    def tick(self, css: str) -> None:
        box = self.find(css)
        if not box.is_selected():
            box.click()

    def open_details(self) -> None:
        """Open every closed <details> the way a person does: a click on its summary."""
        for details in self.find_all("details:not([open])"):
            details.find_element("css selector", "summary").click()

    def press(self, form_action: str) -> None:
        """The submit button of the form that posts to ``form_action``."""
        self.to_next_page(self.find(f'form[action="{form_action}"] button[type=submit]'))

    def click_link(self, href: str, within: str = "main") -> None:
        self.to_next_page(self.find(f'{within} a[href="{href}"]'))

    def text(self, css: str = "body") -> str:
        return self.find(css).text


class Browser(Steps):
    """One Chromium session with a fresh profile, and a screenshot at each step."""

    def __init__(self, name: str, shots: Path, *, js: bool = False, phone: bool = False) -> None:
        self.name = name
        self.shots = shots
        self.js = js
        self.phone = phone
        self.profile = Path(tempfile.mkdtemp(prefix=f"wbs-{name}-profile-"))
        self.driver = new_driver(self.profile, js=js, phone=phone)
        self.count = 0
        self.base = ""

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # Steps and evidence ------------------------------------------------------

    def screenshot(self, label: str) -> Path:
        """The whole page, not just the viewport (CDP, so no page script needed)."""
        self.count += 1
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{self.name}-{self.count:02d}-{label}.png"
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    # Driving the page ----------------------------------------------------------

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    @property
    def path(self) -> str:
        url = self.driver.current_url
        return url[len(self.base):] if url.startswith(self.base) else url

    def choose(self, select_id: str, value: str) -> None:
        from selenium.webdriver.support.select import Select

        Select(self.find(f"#{select_id}")).select_by_value(value)

    def chosen(self, select_id: str) -> str:
        from selenium.webdriver.support.select import Select

        return Select(self.find(f"#{select_id}")).first_selected_option.get_attribute("value")

    def to_next_page(self, element) -> None:
        """Click what loads another page (a link, a submit button) and wait until it has.

        With page script off, chromedriver's click returns before the browser
        has even scheduled a form's navigation, so its own wait for pending
        navigations sees none; a command sent in that gap (a DevTools
        screenshot) may never be answered. The old page's root going stale
        is the sign that the new page is there.
        """
        from selenium.webdriver.support.ui import WebDriverWait

        old = self.find("html")
        element.click()
        WebDriverWait(self.driver, NAVIGATION_TIMEOUT).until(
            lambda _: is_gone(old), f"no new page {NAVIGATION_TIMEOUT} s after the click (still at {self.path})")

    def press_form_of(self, field_id: str) -> None:
        """The submit button of the form that holds the field (where several forms share an action)."""
        self.to_next_page(self.driver.find_element(
            "xpath", f"//*[@id='{field_id}']/ancestor::form//button[@type='submit']"))

    def press_form_of_value(self, value: str) -> None:
        """The submit button of the form whose hidden field carries ``value`` (one button per file, say)."""
        self.to_next_page(self.driver.find_element(
            "xpath", f"//input[@type='hidden' and @value='{value}']/ancestor::form//button[@type='submit']"))

    # Measuring without page script (DevTools protocol) ------------------------

    def cdp(self, method: str, params: dict | None = None) -> dict:
        return self.driver.execute_cdp_cmd(method, params or {})

    def overflow(self) -> tuple[float, float]:
        """(content width, layout viewport width) in CSS pixels."""
        metrics = self.cdp("Page.getLayoutMetrics")
        return metrics["cssContentSize"]["width"], metrics["cssLayoutViewport"]["clientWidth"]

    def boxes(self) -> list[tuple[dict, list[dict], Box | None]]:
        """Every element with its ancestors and its border box (None when not rendered)."""
        document = self.cdp("DOM.getDocument", {"depth": -1})["root"]
        found: list[tuple[dict, list[dict], Box | None]] = []

        def walk(node: dict, ancestors: list[dict]) -> None:
            for child in node.get("children", []):
                if child["nodeType"] == 1:
                    found.append((child, ancestors, self._box(child)))
                    walk(child, ancestors + [child])

        walk(document, [])
        return found

    def _box(self, node: dict) -> Box | None:
        try:
            model = self.cdp("DOM.getBoxModel", {"nodeId": node["nodeId"]})["model"]
        except Exception:  # "Could not compute box model": not rendered (display:none, closed <details>)
            return None
        quad = model["border"]
        xs, ys = quad[0::2], quad[1::2]
        return Box(describe(node), min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))

    def box_of(self, css: str) -> Box | None:
        """The border box of the first element matching ``css`` (None when not rendered)."""
        document = self.cdp("DOM.getDocument", {"depth": 0})["root"]
        node = self.cdp("DOM.querySelector", {"nodeId": document["nodeId"], "selector": css})
        if not node.get("nodeId"):
            return None
        return self._box(self.cdp("DOM.describeNode", {"nodeId": node["nodeId"]})["node"] | node)

    def split_words(self) -> list[str]:
        """Words the layout broke across two lines ("Diterim|a", "2026-|12-01").

        Read from the line boxes of each text (DOMSnapshot), so no page script
        is needed: a line that starts where neither the character before nor
        the one after is a space has split a word.
        """
        snap = self.cdp("DOMSnapshot.captureSnapshot", {"computedStyles": []})
        strings, doc = snap["strings"], snap["documents"][0]
        texts, lines = doc["layout"]["text"], doc["textBoxes"]
        starts: dict[int, list[int]] = {}
        for layout, start in zip(lines["layoutIndex"], lines["start"]):
            starts.setdefault(layout, []).append(start)
        split = []
        for layout, found in starts.items():
            text = strings[texts[layout]] if texts[layout] >= 0 else ""
            for start in sorted(found)[1:]:
                if 0 < start < len(text) and not text[start - 1].isspace() and not text[start].isspace():
                    split.append(f"{text[:start]}|{text[start:]}")
        return split

    def wider_than(self, width: float) -> list[str]:
        """The elements whose right edge passes ``width`` CSS px."""
        return [f"{b.description} (right edge {b.x + b.width:.0f} px)" for _, _, b in self.boxes()
                if b and b.width and b.x + b.width > width + 0.5]

    def small_tap_targets(self, minimum: int = MIN_TAP_PX) -> list[str]:
        """Links, buttons, fields and summaries shorter than ``minimum`` CSS px.

        A link inside running text is exempt (WCAG 2.5.8's "inline" exception:
        its height is the line's). A checkbox or radio inside a label is
        measured by its label, which is what a finger taps.
        """
        small = []
        elements = self.boxes()
        labels_for = {attrs(n)["for"]: n for n, _, _ in elements if n["localName"] == "label" and "for" in attrs(n)}
        boxes = {node["nodeId"]: box for node, _, box in elements}
        for node, ancestors, box in elements:
            if not is_interactive(node) or box is None or box.x + box.width <= 0:
                continue  # not rendered, or parked off-screen like the skip link until focused
            if node["localName"] == "a" and in_running_text(node, ancestors):
                continue
            if attrs(node).get("type") in ("checkbox", "radio"):
                label = next((a for a in reversed(ancestors) if a["localName"] == "label"), None)
                label = label or labels_for.get(attrs(node).get("id", ""))
                box = boxes.get(label["nodeId"]) if label else box
            if box and box.height + 0.5 < minimum:
                small.append(f"{describe(node)}: {box.height:.0f} px high")
        return small


def is_gone(element) -> bool:
    """True once the document that held ``element`` has been replaced."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        # How chromedriver sometimes words "stale" while the new page is committing.
        if "does not belong to the document" in str(error):
            return True
        raise
    return False


def attrs(node: dict) -> dict[str, str]:
    flat = node.get("attributes", [])
    return dict(zip(flat[0::2], flat[1::2]))


def is_interactive(node: dict) -> bool:
    name, a = node["localName"], attrs(node)
    if name == "a":
        return "href" in a
    if name == "input":
        return a.get("type") != "hidden"
    return name in ("button", "select", "textarea", "summary")


def text_of(node: dict) -> str:
    if node["nodeType"] == 3:
        return node.get("nodeValue", "")
    return "".join(text_of(c) for c in node.get("children", []))


def in_running_text(node: dict, ancestors: list[dict]) -> bool:
    """True when the link sits in a sentence: its parent holds words of its own
    (text directly in it, not in other elements) beside the link."""
    parent = ancestors[-1] if ancestors else None
    if parent is None:
        return False
    own = "".join(c.get("nodeValue", "") for c in parent.get("children", []) if c["nodeType"] == 3)
    return any(ch.isalnum() for ch in own)


def describe(node: dict) -> str:
    a = attrs(node)
    label = node["localName"]
    if a.get("id"):
        label += f"#{a['id']}"
    elif a.get("name"):
        label += f"[name={a['name']}]"
    elif a.get("href"):
        label += f"[href={a['href']}]"
    words = " ".join(text_of(node).split())
    return f"{label} “{words[:40]}”" if words else label
