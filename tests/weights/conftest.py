"""A local stand-in for the published weights' hosts: an HTTP server on 127.0.0.1."""

import http.server
import threading

import pytest


class FileServer:
    """Serves ``files`` (URL path -> bytes); ``misbehave`` (path -> ``"truncate"``) sends half
    the body under the full Content-Length, as a dropped transfer does. Unknown paths are 404."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.misbehave: dict[str, str] = {}
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server API)
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.misbehave.get(self.path) == "truncate":
                    body = body[: len(body) // 2]
                    self.close_connection = True
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self):
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()


@pytest.fixture
def file_server():
    server = FileServer()
    yield server
    server.stop()
