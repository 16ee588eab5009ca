"""Fake email providers on loopback, for tests and benchmarks: never the internet.

``FakeNotify`` answers GOV.UK Notify's ``POST /v2/notifications/email`` the way the real API does
(201 with a notification id), checking the client's JWT bearer token. ``FakeMailgun`` answers
Mailgun's ``POST /v3/<domain>/messages`` (one call, many recipients). Both record every request
and can be told to fail the next N requests with a given status, to exercise retries.
"""

import json
import socket
import threading
import uuid
from abc import ABC, abstractmethod
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _FakeServer(ABC):
    """A threaded HTTP server on 127.0.0.1 with a request log and scripted failures."""

    def __init__(self):
        self.requests: list[dict] = []
        self.failures: deque[int] = deque()
        self.lock = threading.Lock()
        self.port = free_loopback_port()
        handler = self._handler_class()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, count: int, status: int) -> None:
        with self.lock:
            self.failures.extend([status] * count)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _next_failure(self) -> int | None:
        with self.lock:
            return self.failures.popleft() if self.failures else None

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                status, payload = server.answer(self.path, dict(self.headers), body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    @abstractmethod
    def answer(self, path: str, headers: dict, body: bytes) -> tuple[int, dict]:
        """(status, JSON body) for one POST: each fake provider says what its real one would."""


class FakeNotify(_FakeServer):
    """GOV.UK Notify's email endpoint. Accepts any well-formed bearer token (the real one is a JWT)."""

    def answer(self, path, headers, body):
        failure = self._next_failure()
        if failure:
            return failure, {"status_code": failure, "errors": [{"error": "Scripted", "message": "scripted failure"}]}
        auth = headers.get("Authorization", "")
        if path != "/v2/notifications/email" or not auth.startswith("Bearer ") or auth.count(".") != 2:
            return 403, {"status_code": 403, "errors": [{"error": "AuthError", "message": "Invalid token"}]}
        request = json.loads(body)
        if "@" not in request.get("email_address", ""):
            return 400, {"status_code": 400, "errors": [{"error": "ValidationError", "message": "Not a valid email"}]}
        notification_id = str(uuid.uuid4())
        with self.lock:
            self.requests.append({"id": notification_id, **request})
        return 201, {
            "id": notification_id,
            "reference": request.get("reference"),
            "content": {"subject": "", "body": "", "from_email": "bulletin@example.gov.uk"},
            "uri": f"{self.url}/v2/notifications/{notification_id}",
            "template": {"id": request["template_id"], "version": 1, "uri": ""},
        }


class FakeMailgun(_FakeServer):
    """Mailgun's messages endpoint: one request carries a whole batch (``recipient-variables``)."""

    def answer(self, path, headers, body):
        failure = self._next_failure()
        if failure:
            return failure, {"message": "scripted failure"}
        if not path.endswith("/messages") or not headers.get("Authorization", "").startswith("Basic "):
            return 401, {"message": "Unauthorized"}
        fields = parse_qs(body.decode(), keep_blank_values=True)
        message_id = f"<{uuid.uuid4().hex}@fake-mailgun.test>"
        with self.lock:
            self.requests.append({"id": message_id, "fields": fields})
        return 200, {"id": message_id, "message": "Queued. Thank you."}
