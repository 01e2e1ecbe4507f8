"""Serve a rendered site on 127.0.0.1 (`make serve`): the draw-a-digit page and the search need http://.

    python tools/serve.py [--dir _site] [--port 8000]

Opened as a file (file://), browsers block what those pages load (ONNX Runtime's module import, the
models, the search index). This is Python's http.server with the MIME types the demo needs on every
Python version (.mjs as JavaScript: a module script with another type is refused; .wasm, .onnx).
"""

from __future__ import annotations

import argparse
import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TYPES = {".mjs": "text/javascript", ".wasm": "application/wasm", ".onnx": "application/octet-stream",
         ".svg": "image/svg+xml"}


class SiteHandler(SimpleHTTPRequestHandler):
    """Serves files with the MIME types of TYPES; `quiet=True` (a class attribute) logs nothing."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **TYPES}
    quiet = False

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if not self.quiet:
            super().log_message(format, *args)


def make_server(directory: Path, port: int = 0, quiet: bool = False) -> ThreadingHTTPServer:
    """An HTTP server for `directory` on 127.0.0.1:`port` (0: a free port); call serve_forever()."""
    handler = type("Handler", (SiteHandler,), {"quiet": quiet})
    return ThreadingHTTPServer(("127.0.0.1", port), functools.partial(handler, directory=str(directory)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("_site"), help="the rendered site (default _site)")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000)")
    args = parser.parse_args()
    if not (args.dir / "index.html").is_file():
        raise SystemExit(f"No site in {args.dir}/: run 'make site' (or 'make student') first")
    server = make_server(args.dir, args.port)
    print(f"Serving {args.dir}/ at http://127.0.0.1:{server.server_address[1]}/ (Ctrl+C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
