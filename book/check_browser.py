#!/usr/bin/env python3
"""Renders every page of the built book in headless Chromium at 1280 px and
fails when any of them overflows horizontally.

Usage: python3 book/check_browser.py BOOK_DIR   (book/check-browser.sh
builds the book and finds BOOK_DIR for you)

A page fails when

* the document is wider than the window (`document.documentElement
  .scrollWidth` > 1280), or
* something in the chapter text scrolls sideways on its own: mdBook gives
  code blocks and tables their own scroll bars (`overflow-x: auto`), so a
  line too long for the column never widens the document -- it hides behind
  a scroll bar, which is what a reader should never meet.

Chromium is driven over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: JSON messages, each ended by a NUL byte, read
from fd 3 and written to fd 4), so only the standard library is needed.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTH = 1280
HEIGHT = 900
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")

# Measured in the page once it has loaded (and its fonts with it).
MEASURE = """
(async () => {
  await document.fonts.ready;
  const overflowing = [];
  for (const el of document.querySelectorAll('main *')) {
    const style = getComputedStyle(el);
    if (style.overflowX !== 'auto' && style.overflowX !== 'scroll') continue;
    if (el.clientWidth === 0 || el.scrollWidth <= el.clientWidth + 1) continue;
    const text = (el.innerText || '').trim().split('\\n');
    const longest = text.reduce((a, b) => (b.length > a.length ? b : a), '');
    overflowing.push({
      tag: el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''),
      scroll: el.scrollWidth,
      client: el.clientWidth,
      line: longest.slice(0, 120),
    });
  }
  // mdBook clips the body (`overflow-x: clip`), so an image or table wider
  // than the column would be cut off without widening the document.
  const main = document.querySelector('main');
  const column = main ? main.getBoundingClientRect().right : window.innerWidth;
  for (const el of document.querySelectorAll('main > *, main img, main svg, main table')) {
    const right = el.getBoundingClientRect().right;
    if (right > column + 1) {
      overflowing.push({
        tag: el.tagName.toLowerCase() + ' (sticks out of the column)',
        scroll: Math.round(right),
        client: Math.round(column),
        line: (el.getAttribute('src') || el.innerText || '').trim().split('\\n')[0].slice(0, 120),
      });
    }
  }
  return {
    width: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    overflowing,
  };
})()
"""


def find_chromium():
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium, one tab, commands over the pipe."""

    def __init__(self, chromium, profile):
        cmd_read, self._cmd_write = os.pipe()
        self._resp_read, resp_write = os.pipe()

        def child_fds():
            # Chromium reads commands on fd 3 and answers on fd 4.
            r, w = os.dup(cmd_read), os.dup(resp_write)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self._process = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={WIDTH},{HEIGHT}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=child_fds,
            close_fds=False,  # keep fds 3 and 4; the pipes' own fds close on exec
        )
        os.close(cmd_read)
        os.close(resp_write)
        self._buffer = b""
        self._next_id = 0
        self._session = None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.call(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        )["sessionId"]
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
        )
        self.call("Page.enable")

    def _send(self, method, params):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if self._session:
            message["sessionId"] = self._session
        os.write(self._cmd_write, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _receive(self):
        while b"\0" not in self._buffer:
            chunk = os.read(self._resp_read, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None):
        wanted = self._send(method, params)
        while True:
            message = self._receive()
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def open(self, url):
        """Navigates and returns once the page's load event has fired."""
        wanted = self._send("Page.navigate", {"url": url})
        navigated = loaded = False
        while not (navigated and loaded):
            message = self._receive()
            if message.get("id") == wanted:
                if "error" in message or message["result"].get("errorText"):
                    raise RuntimeError(f"cannot open {url}: {message}")
                navigated = True
            elif message.get("method") == "Page.loadEventFired" and navigated:
                loaded = True

    def evaluate(self, expression):
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"the measuring script failed: {result['exceptionDetails']}")
        return result["result"]["value"]

    def close(self):
        try:
            self._send("Browser.close", None)
        except OSError:
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def check_the_check(browser, scratch):
    """A page built to overflow both ways must be caught: else the
    measurement itself is broken and a pass would mean nothing."""
    canary = scratch / "canary.html"
    canary.write_text(
        "<!DOCTYPE html><html><body><main>"
        f"<pre style='overflow-x: auto'>{'x' * 400}</pre>"
        "<div style='width: 2000px'>wide</div>"
        "</main></body></html>"
    )
    browser.open(canary.as_uri())
    found = browser.evaluate(MEASURE)
    # The wide <pre> scrolls; the wide <div> widens the page and sticks out.
    if found["scrollWidth"] <= WIDTH or len(found["overflowing"]) != 2:
        sys.exit(f"the overflow check missed its canary page: {found}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    book = Path(sys.argv[1]).resolve()
    pages = sorted(p for p in book.rglob("*.html") if p.name != "toc.html")
    if len(pages) < 10:
        sys.exit(f"{book}: only {len(pages)} pages; is this the built book?")
    chromium = find_chromium()
    if chromium is None:
        sys.exit(
            "chromium not found: install Debian's `chromium` package "
            "(apt-get install -y --no-install-recommends chromium)"
        )
    failures = []
    with tempfile.TemporaryDirectory(prefix="warden-book-chromium-") as profile:
        browser = Browser(chromium, profile)
        try:
            check_the_check(browser, Path(profile))
            for page in pages:
                browser.open(page.as_uri())
                found = browser.evaluate(MEASURE)
                name = page.relative_to(book)
                if found["width"] != WIDTH:
                    failures.append(f"{name}: the window is {found['width']} px, not {WIDTH}")
                if found["scrollWidth"] > WIDTH:
                    failures.append(
                        f"{name}: the document is {found['scrollWidth']} px wide (> {WIDTH})"
                    )
                for el in found["overflowing"]:
                    failures.append(
                        f"{name}: a {el['tag']} scrolls sideways "
                        f"({el['scroll']} px of content in {el['client']} px); "
                        f"its longest line: {el['line']!r}"
                    )
                print(f"{name}: {found['scrollWidth']} px, "
                      f"{len(found['overflowing'])} overflowing blocks")
        finally:
            browser.close()
    if failures:
        print(f"\n{len(failures)} overflow(s) at {WIDTH} px:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        sys.exit(1)
    print(f"{len(pages)} pages fit a {WIDTH} px window")


if __name__ == "__main__":
    main()
