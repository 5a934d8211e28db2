"""A merchant's notification endpoint for tests: records what arrives, can be 'down'."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from huoqi.payments.signing import check_signature, read_headers


@dataclass
class Endpoint:
    url: str
    secret: str = ""
    down: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    bad_signatures: int = 0

    def events(self) -> list[str]:
        return [body["event_id"] for body in self.received]

    def wait_for(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.received) >= count, f"{len(self.received)} of {count} arrived"
        return self.received


@contextmanager
def merchant_endpoint() -> Iterator[Endpoint]:
    endpoint = Endpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if endpoint.down:
                endpoint.refused += 1
                self.send_response(503)
                self.end_headers()
                return
            if endpoint.secret:
                url = urlsplit(self.path)
                try:
                    signed = read_headers({k.lower(): v for k, v in self.headers.items()})
                    check_signature(signed, endpoint.secret, method="POST", path=url.path,
                                    query=url.query, body=body, now=int(time.time()))  # fmt: skip
                except Exception:
                    endpoint.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
            endpoint.received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"success")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/notify"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
