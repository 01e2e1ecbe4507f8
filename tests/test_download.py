"""The real download path, against mirrors served by a local HTTP server on 127.0.0.1.

One server plays several mirrors: the first part of a URL's path says how it behaves
(`/good/<file>` serves the file, `/html/<file>` answers an HTML page, ...). Every test starts it
and stops it, and the download timeout is cut to a few seconds, so nothing here can hang.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

import mnist_course as mc
from mnist_course import data as data_module

HTML_PAGE = b"<!DOCTYPE html><html><head><title>Moved</title></head><body>This page has moved.</body></html>"


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def listing(folder: Path) -> dict[str, str]:
    """Every file under `folder` (hidden ones too) with its md5."""
    return {str(p.relative_to(folder)): md5(p) for p in sorted(folder.rglob("*")) if p.is_file()}


class Mirrors:
    """A threaded HTTP server on 127.0.0.1 whose path prefixes behave like different mirrors.

    good       the file
    html       200 with an HTML page (what the original MNIST host answers today)
    missing    404 with an HTML page
    drop       the headers with the full Content-Length, half the file, then the connection closes
    dropfirst  like `drop` on its first request, like `good` afterwards (a connection that failed once)
    wrong      200 with gzip-looking bytes of the right length that are not the file (md5 mismatch)
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[str] = []
        self.lock = threading.Lock()
        mirrors = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                with mirrors.lock:
                    mirrors.requests.append(self.path)
                    first = len(mirrors.requested("dropfirst")) == 1
                _, mode, name = self.path.split("/", 2)
                body = mirrors.files.get(name)
                if mode == "dropfirst":
                    mode = "drop" if first else "good"
                if body is None or mode == "missing":
                    self.send(404, HTML_PAGE, "text/html")
                elif mode == "good":
                    self.send(200, body, "application/octet-stream")
                elif mode == "html":
                    self.send(200, HTML_PAGE, "text/html")
                elif mode == "wrong":
                    self.send(200, body[:2] + bytes(len(body) - 2), "application/octet-stream")
                elif mode == "drop":
                    self.send(
                        200, body[: len(body) // 2], "application/octet-stream", length=len(body)
                    )
                    self.close_connection = True
                else:
                    self.send(500, b"unknown mode", "text/plain")

            def send(self, code: int, body: bytes, kind: str, length: int | None = None) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{mode}/"

    def use(self, monkeypatch: pytest.MonkeyPatch, *modes: str) -> None:
        """Point MNIST_MIRRORS at these modes, in this order."""
        monkeypatch.setenv("MNIST_MIRRORS", ",".join(self.url(m) for m in modes))

    def requested(self, mode: str) -> list[str]:
        return sorted(p.split("/", 2)[2] for p in self.requests if p.startswith(f"/{mode}/"))


@pytest.fixture(scope="module")
def originals(raw_dir: Path) -> dict[str, bytes]:
    return {name: (raw_dir / name).read_bytes() for name in mc.FILES}


@pytest.fixture
def mirrors(
    originals: dict[str, bytes], empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Mirrors]:
    """A running local server (stopped after the test); downloads time out after 5 s."""
    monkeypatch.setattr(data_module, "TIMEOUT", 5)
    server = Mirrors(originals)
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
        server.thread.join(timeout=5)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def assert_complete_cache(cache: Path) -> None:
    raw = cache / "MNIST" / "raw"
    assert listing(raw) == dict(mc.FILES), "exactly the four verified files, no temporary ones"


@pytest.mark.parametrize("bad", ["html", "missing"])
def test_error_page_mirror_then_a_good_one(
    mirrors: Mirrors,
    empty_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture,
    bad: str,
) -> None:
    mirrors.use(monkeypatch, bad, "good")
    start = time.perf_counter()
    assert mc.find_mnist() == empty_cache / "MNIST" / "raw"
    assert time.perf_counter() - start < 10
    assert_complete_cache(empty_cache)
    assert mirrors.requested(bad) == sorted(mc.FILES) and mirrors.requested("good") == sorted(
        mc.FILES
    )
    out, err = capfd.readouterr()
    assert err == "" and len(out.splitlines()) == 1, (
        "one short line, nothing else (no progress bars)"
    )
    assert out.startswith("MNIST: downloading 4 files into the cache folder ... done (11.6 MB in ")
    mirrors.requests.clear()
    # found, not downloaded again
    assert mc.load_mnist().y_test.shape == (10_000,) and mirrors.requests == []
    assert capfd.readouterr() == ("", "")


def test_dropped_connection_leaves_no_partial_file_and_the_next_call_succeeds(
    mirrors: Mirrors, empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirrors.use(monkeypatch, "dropfirst")
    with pytest.raises(mc.DataError, match="the connection was dropped after") as error:
        mc.find_mnist()
    first = next(iter(mc.FILES))  # the first file tried fails from the only mirror
    assert f"{first} failed from every mirror" in str(error.value)
    assert listing(empty_cache / "MNIST" / "raw") == {}, "no partial or temporary file is left"
    assert mc.find_mnist() == empty_cache / "MNIST" / "raw"
    assert_complete_cache(empty_cache)


def test_dropped_connection_moves_on_to_the_next_mirror(
    mirrors: Mirrors, empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirrors.use(monkeypatch, "drop", "good")
    mc.find_mnist()
    assert_complete_cache(empty_cache)
    assert mirrors.requested("drop") == mirrors.requested("good") == sorted(mc.FILES)


def test_truncated_file_in_the_cache_is_downloaded_again(
    mirrors: Mirrors, raw_dir: Path, empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = empty_cache / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in mc.FILES:
        (raw / name).write_bytes((raw_dir / name).read_bytes())
    damaged = raw / "train-images-idx3-ubyte.gz"
    # what an interrupted download used to leave
    damaged.write_bytes(damaged.read_bytes()[:1_000_000])
    mirrors.use(monkeypatch, "good")
    assert mc.find_mnist() == raw
    assert_complete_cache(empty_cache)
    assert mirrors.requested("good") == ["train-images-idx3-ubyte.gz"], (
        "only the damaged file is fetched"
    )


@pytest.mark.parametrize("how", ["root", "MNIST_DATA_DIR"])
def test_truncated_file_in_a_user_folder_is_an_error_and_left_alone(
    mirrors: Mirrors,
    raw_dir: Path,
    tmp_path: Path,
    empty_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    user = tmp_path / "mine" / "MNIST" / "raw"
    user.mkdir(parents=True)
    for name in mc.FILES:
        (user / name).write_bytes((raw_dir / name).read_bytes())
    damaged = user / "t10k-images-idx3-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:-100])
    before = listing(tmp_path / "mine")
    mirrors.use(monkeypatch, "good")
    if how == "MNIST_DATA_DIR":
        monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "mine"))
    with pytest.raises(
        mc.DataError, match="t10k-images-idx3-ubyte.gz fails its md5 check"
    ) as error:
        mc.load_mnist(tmp_path / "mine" if how == "root" else None)
    assert str(damaged) in str(error.value) and "left as it is" in str(error.value)
    assert listing(tmp_path / "mine") == before, "nothing in the user's folder changed"
    assert mirrors.requests == [] and not empty_cache.exists(), "nothing downloaded, anywhere"


def test_every_mirror_failing_lists_each_reason_and_the_fix(
    mirrors: Mirrors,
    empty_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture,
) -> None:
    refused = closed_port_url()
    urls = [
        mirrors.url("html"),
        mirrors.url("missing"),
        mirrors.url("wrong"),
        mirrors.url("drop"),
        refused,
    ]
    monkeypatch.setenv("MNIST_MIRRORS", " , ".join(urls))
    with pytest.raises(mc.DataError) as error:
        mc.load_mnist(tmp_path / "nothing-here")
    lines = str(error.value).splitlines()
    reasons = {url: next(line for line in lines if line.strip().startswith(url)) for url in urls}
    assert "an HTML page instead of the file" in reasons[urls[0]]
    assert "HTTP error 404" in reasons[urls[1]]
    assert "with md5" in reasons[urls[2]] and "expected" in reasons[urls[2]]
    assert "the connection was dropped after" in reasons[urls[3]]
    assert "could not connect" in reasons[refused]
    message = str(error.value)
    assert all(name in message for name in mc.FILES), "names the four files to put by hand"
    assert str(empty_cache / "MNIST" / "raw") in message and "MNIST_DATA_DIR" in message
    assert "MNIST_MIRRORS" in message and str(tmp_path / "nothing-here") in message
    assert listing(empty_cache) == {}
    out, err = capfd.readouterr()
    assert err == "" and out == "MNIST: downloading 4 files into the cache folder ... failed\n"


def test_an_interrupted_download_leaves_no_temporary_file(
    mirrors: Mirrors, empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (or stopping the cell) in the middle of a file: the exception goes through, no file stays."""
    real_urlopen = data_module.urlopen

    class Interrupted:
        def __init__(self, response) -> None:
            self.response, self.headers, self.reads = response, response.headers, 0

        def read(self, n: int) -> bytes:
            self.reads += 1
            if self.reads == 3:
                raise KeyboardInterrupt
            return self.response.read(n)

        def __enter__(self):
            return self

        def __exit__(self, *exc: object) -> None:
            self.response.close()

    monkeypatch.setattr(data_module, "urlopen", lambda *a, **k: Interrupted(real_urlopen(*a, **k)))
    mirrors.use(monkeypatch, "good")
    with pytest.raises(KeyboardInterrupt):
        mc.find_mnist()
    assert listing(empty_cache / "MNIST" / "raw") == {}
    monkeypatch.setattr(data_module, "urlopen", real_urlopen)
    mc.find_mnist()
    assert_complete_cache(empty_cache)


def test_stale_temporary_files_are_cleaned_up(
    mirrors: Mirrors, empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process killed mid-download leaves its temporary file; a later download removes it once old."""
    raw = empty_cache / "MNIST" / "raw"
    raw.mkdir(parents=True)
    old, recent = (
        raw / ".train-images-idx3-ubyte.gz.abc.part",
        raw / ".t10k-images-idx3-ubyte.gz.xyz.part",
    )
    old.write_bytes(b"partial")
    recent.write_bytes(b"partial")
    day_ago = time.time() - 86_400
    os.utime(old, (day_ago, day_ago))
    mirrors.use(monkeypatch, "good")
    mc.find_mnist()
    assert not old.exists() and recent.exists(), (
        "a recent one may belong to a download still running"
    )


def test_mirrors_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MNIST_MIRRORS", raising=False)
    assert data_module.mirrors() == list(data_module.MIRRORS)
    assert all(url.startswith("https://") and url.endswith("/") for url in data_module.MIRRORS)
    assert not any("lecun.com" in url for url in data_module.MIRRORS), (
        "the original host sends an HTML page"
    )
    monkeypatch.setenv("MNIST_MIRRORS", " http://a.example/mnist , ,https://b.example/x/ ")
    assert data_module.mirrors() == ["http://a.example/mnist/", "https://b.example/x/"]
    monkeypatch.setenv("MNIST_MIRRORS", " ")
    assert data_module.mirrors() == list(data_module.MIRRORS)


def test_nbval_sanitizer_removes_the_download_line() -> None:
    """On a machine without the data, the loading cell prints one extra line; nbval must not see it."""
    from nbval.plugin import get_sanitize_patterns

    config = (Path(__file__).parent / "nbval_sanitize.cfg").read_text(encoding="utf-8")
    patterns = get_sanitize_patterns(config)

    def sanitize(text: str) -> str:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    stored = "train 50,000 | validation 10,000 | test 10,000 images\n"
    fresh = (
        "MNIST: downloading 4 files into the cache folder ... done (11.6 MB in 3.2 s)\n" + stored
    )
    assert sanitize(fresh) == sanitize(stored) == stored
    only = "MNIST: downloading 1 file into the cache folder ... done (1.6 MB in 0.4 s)\n"
    assert sanitize(only) == ""


def test_downloaded_files_are_ordinary_files(
    mirrors: Mirrors, empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permissions follow the umask, as for any file the user saves (a temporary file would be private)."""
    mirrors.use(monkeypatch, "good")
    umask = os.umask(0o022)
    try:
        raw = mc.find_mnist()
    finally:
        os.umask(umask)
    assert {oct((raw / name).stat().st_mode & 0o777) for name in mc.FILES} == {oct(0o644)}


@pytest.mark.slow
@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="sets the cache folder through XDG_CACHE_HOME"
)
def test_nbval_passes_on_a_machine_whose_cache_is_empty(
    mirrors: Mirrors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `make nbtest` does to a lesson's data cell, in a fresh kernel with an empty cache: the cell
    downloads (from the local mirror) and still matches its stored output. Without the sanitizer it
    would not, which shows that the download did print its line."""
    mirrors.use(monkeypatch, "good")
    stored = "train 50,000 | validation 10,000 | test 10,000 images\n"
    nb = new_notebook(
        cells=[
            new_code_cell(
                "import mnist_course as mc\ndata = mc.load_mnist()\n"
                'print(f"train {len(data.y_train):,} | validation {len(data.y_val):,} | test {len(data.y_test):,} images")',
                execution_count=1,
                outputs=[new_output("stream", name="stdout", text=stored)],
            ),
            new_code_cell(
                'print(mc.find_mnist() == mc.cache_dir() / "MNIST" / "raw")',
                execution_count=2,
                outputs=[new_output("stream", name="stdout", text="True\n")],
            ),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nb, path)
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DATA_DIR"}

    def nbval(*options: str) -> subprocess.CompletedProcess:
        cache = tmp_path / f"xdg-cache-{len(options)}"
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "--nbval",
                str(path),
                "--nbval-current-env",
                "-p",
                "no:cacheprovider",
                "-q",
                *options,
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env=env | {"XDG_CACHE_HOME": str(cache)},
        )

    sanitized = nbval("--nbval-sanitize-with", str(Path(__file__).parent / "nbval_sanitize.cfg"))
    assert sanitized.returncode == 0, sanitized.stdout[-3000:]
    assert "2 passed" in sanitized.stdout
    plain = nbval()
    assert plain.returncode != 0 and "MNIST: downloading 4 files" in plain.stdout
    assert len(mirrors.requested("good")) == 8, (
        "each run downloaded the four files into its empty cache"
    )
