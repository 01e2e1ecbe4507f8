"""Serve a rendered site on 127.0.0.1 (`make serve`): the draw-a-digit page and the search need http://.

    python tools/serve.py [--dir _site] [--port 8000]

Opened as a file (file://), browsers block what those pages load (ONNX Runtime's module import, the
models, the search index). This is Python's http.server with the MIME types the demo needs on every
Python version (.mjs as JavaScript: a module script with another type is refused; .wasm, .onnx), and
gzip: a browser that accepts it gets pages, scripts, styles, the search index, the models and ONNX
Runtime's WebAssembly compressed (the runtime's 14.2 MB become 3.7 MB, what a phone on a slow network
waits for on the draw-a-digit page), as GitHub Pages compresses what it serves.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import io
import os
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TYPES = {
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".onnx": "application/octet-stream",
    ".svg": "image/svg+xml",
}


# Sent gzip-compressed to a browser that accepts it (images are compressed already).
COMPRESS = {
    ".html",
    ".css",
    ".js",
    ".mjs",
    ".json",
    ".wasm",
    ".onnx",
    ".svg",
    ".ipynb",
    ".txt",
    ".xml",
}
_compressed: dict[tuple[str, int, int], bytes] = {}  # (path, mtime_ns, size) -> gzip bytes
_lock = threading.Lock()


def compressed(path: str) -> bytes:
    """The gzip of the file at `path`, computed once per version of the file."""
    stat = os.stat(path)
    key = (path, stat.st_mtime_ns, stat.st_size)
    with _lock:
        if key not in _compressed:
            with open(path, "rb") as f:
                _compressed[key] = gzip.compress(f.read(), compresslevel=6, mtime=0)
        return _compressed[key]


class SiteHandler(SimpleHTTPRequestHandler):
    """Serves files with the MIME types of TYPES, gzip-compressed (COMPRESS) when the browser accepts it;
    `quiet=True` (a class attribute) logs nothing."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **TYPES}
    quiet = False

    def send_head(self):  # noqa: ANN201  (http.server's signature)
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            index = os.path.join(path, "index.html")
            if not self.path.split("?", 1)[0].endswith("/") or not os.path.isfile(index):
                # the redirect to the folder's URL with a /, or a listing
                return super().send_head()
            path = index
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not accepts or Path(path).suffix not in COMPRESS or not os.path.isfile(path):
            return super().send_head()
        body = compressed(path)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Last-Modified", self.date_time_string(int(os.stat(path).st_mtime)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if not self.quiet:
            super().log_message(format, *args)


def make_server(directory: Path, port: int = 0, quiet: bool = False) -> ThreadingHTTPServer:
    """An HTTP server for `directory` on 127.0.0.1:`port` (0: a free port); call serve_forever()."""
    handler = type("Handler", (SiteHandler,), {"quiet": quiet})
    return ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(handler, directory=str(directory))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dir", type=Path, default=Path("_site"), help="the rendered site (default _site)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000)")
    args = parser.parse_args()
    if not (args.dir / "index.html").is_file():
        raise SystemExit(f"No site in {args.dir}/: run 'make site' (or 'make student') first")
    server = make_server(args.dir, args.port)
    print(
        f"Serving {args.dir}/ at http://127.0.0.1:{server.server_address[1]}/ (Ctrl+C stops it)",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
