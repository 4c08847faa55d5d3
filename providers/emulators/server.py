"""Both emulators on one port: PDL under /pdl and Apify under /apify.

A provider's base URL then becomes `http://host:port/pdl` or `http://host:port/apify`, so adapters change
nothing but their base URL. `start()` runs it in a background thread for tests; `serve_forever()` runs it
in the foreground for a development process.
"""

import json
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from . import apify, pdl


def make_app(
    pdl_key: str = pdl.DEFAULT_API_KEY, apify_token: str = apify.DEFAULT_TOKEN, pdl_delay_seconds: float = 0.0
):
    """One WSGI app mounting each emulator under its prefix, which it strips from PATH_INFO."""
    mounts = {"/pdl": pdl.make_app(pdl_key, pdl_delay_seconds), "/apify": apify.make_app(apify_token)}

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        for prefix, mounted in mounts.items():
            if path.startswith(prefix + "/"):
                script_name = environ.get("SCRIPT_NAME", "") + prefix
                return mounted(dict(environ, SCRIPT_NAME=script_name, PATH_INFO=path[len(prefix) :]), start_response)
        payload = json.dumps({"error": {"type": "not_found", "message": "Use /pdl/... or /apify/..."}}).encode()
        start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    return app


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    # Daemon request threads never keep a finished test run or a stopped process alive.
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        """Silent: a line per request would drown test output."""


class EmulatorServer:
    """A running emulator server; `.url` is its base, `.stop()` (or leaving a `with`) shuts it down."""

    def __init__(self, httpd):
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="provider-emulators", daemon=True)
        self._thread.start()
        self.host, self.port = httpd.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def start(host: str = "127.0.0.1", port: int = 0, **app_kwargs) -> EmulatorServer:
    """Serve the emulators in a daemon thread; port 0 picks a free port, read it back from `.port`."""
    httpd = make_server(host, port, make_app(**app_kwargs), _ThreadingWSGIServer, _QuietHandler)
    return EmulatorServer(httpd)


def serve_forever(host: str = "127.0.0.1", port: int = 8900, **app_kwargs) -> None:
    """Serve the emulators in the foreground, logging each request, until interrupted."""
    with make_server(host, port, make_app(**app_kwargs), _ThreadingWSGIServer) as httpd:
        print(
            f"Provider emulators listening on http://{host}:{httpd.server_port} (PDL at /pdl, Apify at /apify)",
            flush=True,
        )
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
