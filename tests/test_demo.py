"""The draw-a-digit page (demo.qmd) in a real browser: Debian's Chromium driven by Playwright.

Tests the site as GitHub Pages publishes it: the Pages workflow's build steps on a clean copy of the
repository (`published_build` in conftest.py, built once per session and shared with test_site.py),
which must hold demo.html, ONNX Runtime Web in demo/ort/ and the lessons' models in notebooks/models/.
Needs Quarto and npm for that build and /usr/bin/chromium (`apt-get install chromium`); skips with
the reason otherwise. The site is served from 127.0.0.1 by a server that lives as long as this
module's tests. A screenshot of the page with a drawn digit goes to test-artifacts/demo.png.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

import mnist_course as mc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import serve  # noqa: E402  (tools/serve.py: `make serve`)

ARTIFACTS = Path(os.environ.get("MNIST_TEST_ARTIFACTS", ROOT / "test-artifacts"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MODELS = {"cnn": "lesson4_cnn.onnx", "mlp": "lesson1_mlp.onnx"}
RUNTIME = ["ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"]


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM}: apt-get install -y chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: pip install playwright (it is in the dev extras)"
    return None


pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))


@pytest.fixture(scope="module")
def site(published_build: object) -> Path:
    """The published site's folder, with the page, its runtime and the models it loads."""
    folder = published_build.site
    assert (folder / "demo.html").is_file(), "the Pages build has no demo.html"
    for name in RUNTIME:
        assert (folder / "demo" / "ort" / name).is_file(), f"the Pages build has no demo/ort/{name} (ONNX Runtime Web)"
    for name in MODELS.values():
        assert (folder / "notebooks" / "models" / name).is_file(), \
            f"the Pages build has no notebooks/models/{name} (lessons 1 and 4 export it; commit it)"
    return folder


@pytest.fixture(scope="module")
def site_url(site: Path) -> Iterator[str]:
    """The published site, served from 127.0.0.1 on a free port until the module's tests end."""
    server = serve.make_server(site, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, timeout=60_000)
        yield browser
        browser.close()


class Page:
    """The demo page in a fresh browser tab, with its console errors and every request it made."""

    def __init__(self, browser: object, site_url: str) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 1000})
        self.page.set_default_timeout(30_000)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url} ({r.failure})"))

        def route(route: object) -> None:
            url = urlsplit(route.request.url)
            if url.scheme in ("http", "https", "ws", "wss") and url.hostname != "127.0.0.1":
                self.outside.append(route.request.url)
                route.abort()
            else:
                route.continue_()

        self.page.route("**/*", route)
        self.page.goto(f"{site_url}/demo.html")
        self.page.wait_for_function("window.mnistDemo !== undefined")
        self.page.evaluate("window.mnistDemo.ready")
        self.canvas = self.page.locator("#demo-canvas")

    def stroke(self, points: list[tuple[float, float]]) -> None:
        """One stroke with the mouse through `points`, in the 280 x 280 canvas' own pixels."""
        box = self.canvas.bounding_box()
        sx, sy = box["width"] / 280, box["height"] / 280
        mouse = self.page.mouse
        mouse.move(box["x"] + points[0][0] * sx, box["y"] + points[0][1] * sy)
        mouse.down()
        for x, y in points[1:]:
            mouse.move(box["x"] + x * sx, box["y"] + y * sy, steps=4)
        mouse.up()

    def answer(self) -> dict[str, list[float]]:
        """The probabilities the bars show, read back from the page (percent)."""
        return self.page.evaluate("""() => Object.fromEntries(['cnn', 'mlp'].map(k => [k,
            [...document.querySelectorAll(`#demo-bars-${k} .demo-value`)].map(e => e.textContent)]))""")

    def wait_for_prediction(self, after: int) -> None:
        self.page.wait_for_function(f"window.mnistDemo.stats.predictions > {after} && !window.mnistDemo.busy()")


def polyline(*points: tuple[float, float]) -> list[tuple[float, float]]:
    return list(points)


def ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 36) -> list[tuple[float, float]]:
    return [(cx + rx * math.sin(2 * math.pi * i / n), cy - ry * math.cos(2 * math.pi * i / n)) for i in range(n + 1)]


# Handwritten shapes, in canvas pixels (280 x 280): what a student draws with the mouse.
DIGITS = {
    1: [polyline((150, 45), (140, 140), (132, 235))],
    7: [polyline((75, 60), (205, 55), (165, 130), (125, 235))],
    0: [ellipse(140, 140, 62, 92)],
}


@pytest.fixture(scope="module")
def demo(browser: object, site_url: str) -> Iterator[Page]:
    page = Page(browser, site_url)
    yield page
    page.page.close()


def test_page_loads_offline_without_errors(demo: Page, site_url: str) -> None:
    assert demo.page.locator("#demo-status").inner_text() == "Models loaded: draw a digit."
    assert demo.errors == []
    assert demo.outside == []
    for name in [*RUNTIME, *MODELS.values()]:
        assert any(url.endswith("/" + name) for url in demo.requests), f"{name} was not loaded from the site"
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in demo.requests if u.startswith("http"))


def test_models_and_runtime_stay_under_25_mb(site: Path) -> None:
    files = [site / "demo" / "ort" / n for n in RUNTIME] + [site / "notebooks" / "models" / n for n in MODELS.values()]
    total = sum(f.stat().st_size for f in files)
    print(f"\nmodels + runtime: {total:,} bytes")
    assert total < 25e6


def test_predict_matches_onnx_runtime_on_test_images(demo: Page, site: Path) -> None:
    """window.mnistDemo.predict on 200 test images gives ONNX Runtime's (= PyTorch's, see check_onnx) classes."""
    import onnxruntime as ort

    x = mc.load_mnist().x_test[:200]
    pixels = x.reshape(200, 784).numpy()
    start = time.perf_counter()
    probs = demo.page.evaluate("""async (images) => {
        const out = {cnn: [], mlp: []};
        for (const image of images) {
            const p = await window.mnistDemo.predict(Float32Array.from(image));
            out.cnn.push(p.cnn); out.mlp.push(p.mlp);
        }
        return out;
    }""", pixels.tolist())
    seconds = time.perf_counter() - start
    print(f"\nbrowser: 200 images through both models in {seconds:.2f} s")
    for key, name in MODELS.items():
        session = ort.InferenceSession(str(site / "notebooks" / "models" / name), providers=["CPUExecutionProvider"])
        logits = session.run(["logits"], {"pixels": x.numpy()})[0]
        expected = np.exp(logits - logits.max(1, keepdims=True))
        expected /= expected.sum(1, keepdims=True)
        browser_probs = np.array(probs[key])
        assert browser_probs.shape == (200, 10)
        np.testing.assert_array_equal(browser_probs.argmax(1), expected.argmax(1), err_msg=key)
        np.testing.assert_allclose(browser_probs, expected, atol=1e-5, err_msg=key)
    assert demo.errors == []


def test_predict_rejects_bad_input(demo: Page) -> None:
    message = demo.page.evaluate("window.mnistDemo.predict([0, 1]).then(() => 'resolved', e => e.message)")
    assert "Float32Array of 784" in message


@pytest.mark.parametrize("digit", [1, 7, 0])
def test_drawn_digit_is_read_by_the_cnn(demo: Page, digit: int) -> None:
    demo.page.click("#demo-clear")
    before = demo.page.evaluate("window.mnistDemo.stats.predictions")
    for stroke in DIGITS[digit]:
        demo.stroke(stroke)
    demo.wait_for_prediction(before)
    assert demo.page.locator("#demo-answer-cnn").inner_text().startswith(f"{digit} ("), demo.answer()
    # The 28 x 28 input is MNIST-like: ink in a box of at most 20 x 20, centre of mass at (14, 14).
    image = np.array(demo.page.evaluate("Array.from(window.mnistDemo.preprocess())")).reshape(28, 28)
    rows, cols = np.nonzero(image)
    height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
    assert 18 <= max(height, width) <= 20, (height, width)  # the longer side scaled to 20 pixels
    mass = image.sum()
    centre = ((image.sum(1) * np.arange(28)).sum() / mass, (image.sum(0) * np.arange(28)).sum() / mass)
    assert np.allclose(centre, 14, atol=0.5), centre
    assert demo.errors == []
    if digit == 7:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        demo.page.locator("#mnist-demo").screenshot(path=str(ARTIFACTS / "demo.png"))
        demo.page.screenshot(path=str(ARTIFACTS / "demo-page.png"), full_page=True)


def test_first_prediction_within_a_second_of_the_stroke(browser: object, site_url: str) -> None:
    page = Page(browser, site_url)  # a fresh page: the first prediction after the models loaded
    page.stroke(DIGITS[7][0])
    page.wait_for_prediction(0)
    page.page.wait_for_function("window.mnistDemo.stats.firstLatencyMs !== null")
    latency = page.page.evaluate("window.mnistDemo.stats.firstLatencyMs")
    print(f"\nfirst prediction {latency:.0f} ms after the end of the first stroke")
    assert latency < 1000
    page.page.close()


def test_centring_switch(demo: Page) -> None:
    """Off, the scaled digit stays where it was drawn (here: the top-left corner); on, it is centred."""
    demo.page.click("#demo-clear")
    demo.stroke(polyline((40, 20), (35, 70), (30, 120)))  # a 1 in the top-left corner
    before = demo.page.evaluate("window.mnistDemo.stats.predictions")
    demo.page.uncheck("#demo-centre")
    image = np.array(demo.page.evaluate("Array.from(window.mnistDemo.preprocess())")).reshape(28, 28)
    rows, cols = np.nonzero(image)
    assert cols.mean() < 8 and rows.mean() < 12
    demo.wait_for_prediction(before)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    demo.page.locator("#mnist-demo").screenshot(path=str(ARTIFACTS / "demo-not-centred.png"))
    demo.page.check("#demo-centre")
    image = np.array(demo.page.evaluate("Array.from(window.mnistDemo.preprocess())")).reshape(28, 28)
    rows, cols = np.nonzero(image)
    assert abs(cols.mean() - 14) < 1.5 and abs(rows.mean() - 14) < 1.5


def test_clear_empties_canvas_and_bars(demo: Page) -> None:
    before = demo.page.evaluate("window.mnistDemo.stats.predictions")
    demo.stroke(DIGITS[0][0])
    demo.wait_for_prediction(before)
    assert any(v for v in demo.answer()["cnn"])
    demo.page.click("#demo-clear")
    assert demo.page.evaluate("window.mnistDemo.preprocess()") is None  # no ink left on the canvas
    ink = demo.page.evaluate("""() => { const c = document.getElementById('demo-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i]; return s; }""")
    assert ink == 0
    answer = demo.answer()
    assert answer == {"cnn": [""] * 10, "mlp": [""] * 10}
    widths = demo.page.evaluate("[...document.querySelectorAll('.demo-bar')].map(e => e.style.width)")
    assert len(widths) == 20 and all(float(w.rstrip("%")) == 0 for w in widths), widths
    assert demo.page.locator("#demo-answer-cnn").inner_text() == "–"
    # Keyboard: focus the canvas, draw nothing, Escape also clears (after a stroke).
    demo.stroke(DIGITS[1][0])
    demo.canvas.focus()
    demo.page.keyboard.press("Escape")
    assert demo.page.evaluate("window.mnistDemo.preprocess()") is None
    assert demo.errors == [] and demo.outside == []


def _ink(page: object, x: float, y: float) -> int:
    """The red value (0 black .. 255 white ink) of the canvas pixel at (x, y), canvas pixels."""
    return page.evaluate(f"document.getElementById('demo-canvas').getContext('2d')"
                         f".getImageData({int(x)}, {int(y)}, 1, 1).data[0]")


def test_a_second_finger_does_not_pull_the_stroke(browser: object, site_url: str) -> None:
    """Touch: one finger draws; a second finger (or a palm) lands far away and both move. Only the first
    finger's stroke is drawn: no ink under the second finger, none on the line between the two."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{site_url}/demo.html")
        page.wait_for_function("window.mnistDemo !== undefined")
        page.evaluate("window.mnistDemo.ready")
        page.locator("#demo-canvas").scroll_into_view_if_needed()
        box = page.locator("#demo-canvas").bounding_box()
        scale = box["width"] / 280

        def at(x: float, y: float, ident: int) -> dict:
            return {"x": box["x"] + x * scale, "y": box["y"] + y * scale, "id": ident}

        cdp = context.new_cdp_session(page)
        touch = lambda kind, points: cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
        touch("touchStart", [at(60, 60, 0)])
        touch("touchMove", [at(70, 100, 0)])
        touch("touchMove", [at(80, 140, 0)])
        touch("touchStart", [at(80, 140, 0), at(230, 230, 1)])  # the second finger, far from the stroke
        touch("touchMove", [at(85, 160, 0), at(235, 232, 1)])
        touch("touchMove", [at(90, 180, 0), at(240, 235, 1)])
        touch("touchEnd", [])
        page.wait_for_function("!window.mnistDemo.busy()")
        assert _ink(page, 70, 100) > 200, "the first finger's stroke was not drawn"
        assert _ink(page, 232, 231) == 0, "the second finger drew a dot"
        assert _ink(page, (85 + 232) / 2, (160 + 231) / 2) == 0, "a line was drawn towards the second finger"
    finally:
        context.close()


def test_opened_from_a_file_it_says_how_to_serve_it(browser: object, site: Path) -> None:
    """Browsers block the runtime's module import and the model fetch on file://: the page says so."""
    page = browser.new_page()
    try:
        page.goto((site / "demo.html").resolve().as_uri())
        page.wait_for_function("document.getElementById('demo-status').textContent.includes('make serve')")
        assert "file://" in page.locator("#demo-status").inner_text()
    finally:
        page.close()


def test_on_a_phone_both_answers_stay_in_view_while_drawing(browser: object, site_url: str) -> None:
    """390 x 844: with the drawing area scrolled to the top of the screen (under the navbar), both
    models' bars and the status line are on screen too, so that a finger drawing sees the answers."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{site_url}/demo.html")
        page.wait_for_function("window.mnistDemo !== undefined")
        page.evaluate("window.scrollTo(0, document.getElementById('demo-canvas').getBoundingClientRect().top"
                      " + window.scrollY - 70)")
        page.wait_for_timeout(300)
        boxes = page.evaluate("""['demo-canvas', 'demo-bars-cnn', 'demo-bars-mlp', 'demo-status'].map(id => {
            const r = document.getElementById(id).getBoundingClientRect();
            return [id, r.top, r.bottom, r.left, r.right]; })""")
        off = [b for b in boxes if b[1] < 0 or b[2] > 844 or b[3] < 0 or b[4] > 390]
        assert off == [], f"not on screen while drawing: {off}"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
