"""A loopback HTTP/1.1 proxy that adds a fixed delay before forwarding each request.

Benchmarks put it between boto3 (``AWS_ENDPOINT_URL`` points here) and a moto server so that every
AWS call pays a realistic round trip. It is a transparent relay, not an HTTP client: the request
line and headers go upstream byte for byte in their order (``Host`` and the signed headers
included, so SigV4 still verifies), bodies are streamed in 64 KiB pieces as they arrive, framed
exactly as the client framed them (``Content-Length`` or ``Transfer-Encoding: chunked``, trailers
included), and ``Expect: 100-continue`` is answered by the upstream server, not by the proxy, so the
client waits for the interim response over the slow path as it would against AWS. Responses are
relayed the same way (interim 1xx, ``Content-Length``, chunked or close-delimited bodies; none after
``HEAD``, 204 or 304). Each client connection gets its own upstream connection, kept alive while
both sides keep it alive.

Run: ``python bench/latency_proxy.py --upstream http://127.0.0.1:PORT [--delay-ms 50]``; it prints
``http://127.0.0.1:PORT`` of its own listening socket on the first line of stdout, then serves until
it is terminated.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO
from urllib.parse import urlsplit

PIECE = 64 * 1024
NO_BODY_STATUSES = (204, 304)


class _SocketWriter:
    """``write`` = ``sendall``: bytes leave as soon as they are written."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def write(self, data: bytes) -> int:
        self._sock.sendall(data)
        return len(data)

    def flush(self) -> None:
        pass


def copy_exact(source: BinaryIO, target: _SocketWriter | BinaryIO, count: int) -> None:
    """Copy exactly ``count`` bytes, a piece at a time."""
    while count > 0:
        data = source.read(min(PIECE, count))
        if not data:
            raise ConnectionError(f"peer closed with {count} bytes of the body still to come")
        target.write(data)
        count -= len(data)


def copy_chunked(source: BinaryIO, target: _SocketWriter | BinaryIO) -> None:
    """Copy a chunked body as it is framed: size lines, data, the last chunk and any trailers."""
    while True:
        line = source.readline(PIECE)
        if not line:
            raise ConnectionError("peer closed inside a chunked body")
        target.write(line)
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while True:  # trailers, up to the blank line
                trailer = source.readline(PIECE)
                target.write(trailer)
                if trailer in (b"\r\n", b"\n", b""):
                    return
        copy_exact(source, target, size + 2)  # the data and its CRLF


def copy_until_closed(source: BinaryIO, target: _SocketWriter | BinaryIO) -> None:
    while data := source.read(PIECE):
        target.write(data)


def read_head(source: BinaryIO) -> tuple[bytes, dict[str, str]]:
    """A message head as raw bytes (to relay unchanged) and its headers, names lower-cased."""
    lines = [source.readline(PIECE)]
    if not lines[0]:
        raise ConnectionError("upstream closed the connection before answering")
    headers: dict[str, str] = {}
    while True:
        line = source.readline(PIECE)
        lines.append(line)
        if line in (b"\r\n", b"\n", b""):
            return b"".join(lines), headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()


def body_framing(headers: dict[str, str]) -> tuple[bool, int | None]:
    """(chunked, content length) of a message from its headers."""
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    length = headers.get("content-length")
    return chunked, (int(length) if length is not None and not chunked else None)


class LatencyHandler(BaseHTTPRequestHandler):
    """Relays each request upstream after ``server.delay`` seconds."""

    protocol_version = "HTTP/1.1"  # keep-alive towards the client, as AWS endpoints do
    server: LatencyProxyServer

    def setup(self) -> None:
        super().setup()
        self._upstream: socket.socket | None = None
        self._upstream_reader: BinaryIO | None = None

    def finish(self) -> None:
        self._close_upstream()
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: a benchmark makes thousands of requests

    def handle_expect_100(self) -> bool:
        return True  # the upstream server answers 100-continue, over the slow path

    def _connect(self) -> tuple[socket.socket, BinaryIO]:
        if self._upstream is None or self._upstream_reader is None:
            self._upstream = socket.create_connection(self.server.upstream)
            self._upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._upstream_reader = self._upstream.makefile("rb")
        return self._upstream, self._upstream_reader

    def _close_upstream(self) -> None:
        if self._upstream_reader is not None:
            self._upstream_reader.close()
        if self._upstream is not None:
            self._upstream.close()
        self._upstream = self._upstream_reader = None

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(PIECE + 1)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():  # malformed: the base class has answered 400
            return
        try:
            self._relay()
        except (ConnectionError, OSError, ValueError):
            self.close_connection = True
            self._close_upstream()

    def _relay(self) -> None:
        time.sleep(self.server.delay)
        upstream, reader = self._connect()
        sender = _SocketWriter(upstream)
        head = self.raw_requestline + b"".join(
            f"{name}: {value}\r\n".encode("latin-1") for name, value in self.headers.items()
        )
        sender.write(head + b"\r\n")
        request_headers = {k.lower(): v for k, v in self.headers.items()}
        expects = request_headers.get("expect", "").lower() == "100-continue"
        body_sent = False
        if not expects:
            self._relay_request_body(request_headers, sender)
            body_sent = True
        while True:
            raw, headers = read_head(reader)
            status = int(raw.split(None, 2)[1])
            if 100 <= status < 200:
                self.wfile.write(raw)  # interim (100 Continue): relay it, then the body
                self.wfile.flush()
                if status == 100 and not body_sent:
                    self._relay_request_body(request_headers, sender)
                    body_sent = True
                continue
            break
        self.wfile.write(raw)
        chunked, length = body_framing(headers)
        if self.command == "HEAD" or status in NO_BODY_STATUSES:
            pass
        elif chunked:
            copy_chunked(reader, self.wfile)
        elif length is not None:
            copy_exact(reader, self.wfile, length)
        else:  # delimited by the upstream closing: so is ours
            copy_until_closed(reader, self.wfile)
            self.close_connection = True
        self.wfile.flush()
        closes = headers.get("connection", "").lower() == "close" or raw.startswith(b"HTTP/1.0")
        if closes or not body_sent:
            # A final answer before the body: the client may still send it, so start afresh.
            self.close_connection = True
            self._close_upstream()

    def _relay_request_body(self, headers: dict[str, str], sender: _SocketWriter) -> None:
        chunked, length = body_framing(headers)
        if chunked:
            copy_chunked(self.rfile, sender)
        elif length:
            copy_exact(self.rfile, sender, length)


class LatencyProxyServer(ThreadingHTTPServer):
    """A threading server relaying to ``upstream`` with ``delay`` seconds before each request."""

    daemon_threads = True

    def __init__(self, upstream: str, delay: float, port: int = 0) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.delay = delay
        super().__init__(("127.0.0.1", port), LatencyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="URL of the server to relay to")
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args()
    server = LatencyProxyServer(args.upstream, args.delay_ms / 1000, args.port)
    print(server.url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
