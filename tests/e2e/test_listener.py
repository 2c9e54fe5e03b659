"""The listener cannot be exhausted (issue 19, scope 3, and the listener rows of scope 4's
bad-input table), through the real binary with raw sockets: slow clients are cut off while a
signed client is still served, connections past the limit are closed at once and the server
serves again when the limit frees, HTTP/1.0, pipelining, chunked bodies, oversized or malformed
heads, slow bodies, and a graceful drain on SIGTERM."""

from __future__ import annotations

import json
import select
import signal
import socket
import threading
import time

import botocore.exceptions
import pytest

from listener_helpers import closed_by_server, read_response, read_responses, serve

SLOW_CLIENTS = 200
# A connection closed before any answer: refused at connect, or closed under the request.
CONNECTION_ERRORS = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("listener")
    with serve(
        base,
        "--max-connections", "1000",
        "--header-timeout-seconds", "4",
        "--body-timeout-seconds", "3",
        "--idle-timeout-seconds", "3",
    ) as s:
        yield s


def _connect(server, timeout=10.0) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=timeout)


def _request(server, target: str, body: bytes = b"{}", version: str = "HTTP/1.1", framing=None) -> bytes:
    headers = server.signed(target, body)
    if framing is None:
        headers["Content-Length"] = str(len(body))
    else:
        headers.update(framing)
    head = f"POST / {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode()


def _up(server) -> bool:
    with _connect(server) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, body = read_response(s)
    return server.proc.poll() is None and status == 200 and body == b"ok"


def test_slow_clients_do_not_stop_a_signed_client(server):
    stop = threading.Event()
    slow = [_connect(server) for _ in range(SLOW_CLIENTS)]
    for s in slow:
        s.sendall(b"P")
    cut = set()

    def trickle():
        # One more byte of a never-ending request head per client per second.
        while not stop.is_set() and len(cut) < len(slow):
            for i, s in enumerate(slow):
                if i in cut:
                    continue
                try:
                    s.sendall(b"O")
                except OSError:
                    cut.add(i)
            stop.wait(1.0)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        kms = server.client()
        key_id = kms.create_key(Description="beside the slow clients")["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"still served")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"still served"
        # The header timeout cuts every slow client off, although each keeps sending.
        for s in slow:
            assert closed_by_server(s, timeout=30), "a trickling client was not cut off"
    finally:
        stop.set()
        t.join(timeout=10)
        for s in slow:
            s.close()
    assert _up(server)


def test_a_slow_body_gets_a_request_timeout_error(server):
    body = b'{"KeyId": "alias/none", "Plaintext": "AAAA"}'
    with _connect(server, timeout=30) as s:
        s.sendall(_request(server, "Encrypt", body))
        s.sendall(body[:1])
        sent = 1
        while True:
            readable, _, _ = select.select([s], [], [], 1.0)
            if readable:
                break
            if sent < len(body) - 1:
                s.sendall(body[sent : sent + 1])
                sent += 1
        status, headers, payload = read_response(s)
        assert status == 408
        assert json.loads(payload)["__type"] == "RequestTimeoutException"
        assert headers.get("x-amzn-requestid")
        assert closed_by_server(s, timeout=10)
    assert _up(server)


def test_http_1_0(server):
    with _connect(server) as s:
        s.sendall(_request(server, "ListKeys", version="HTTP/1.0") + b"{}")
        status, headers, body = read_response(s)
        assert status == 200, body
        assert "Keys" in json.loads(body)
        # HTTP/1.0 without keep-alive: the server closes after the response.
        assert closed_by_server(s, timeout=10)


def test_pipelined_requests_are_answered_in_order(server):
    with _connect(server) as s:
        s.sendall(
            _request(server, "ListKeys") + b"{}"
            + _request(server, "ListAliases") + b"{}"
            + _request(server, "NoSuchOperation") + b"{}"
        )
        (s1, h1, b1), (s2, h2, b2), (s3, _, b3) = read_responses(s, 3)
    assert (s1, s2, s3) == (200, 200, 400)
    assert "Keys" in json.loads(b1) and "Aliases" in json.loads(b2)
    assert json.loads(b3)["__type"] == "UnknownOperationException"
    assert h1["x-amzn-requestid"] != h2["x-amzn-requestid"]


def test_chunked_body(server):
    body = json.dumps({"Description": "made with a chunked body"}).encode()
    with _connect(server) as s:
        s.sendall(_request(server, "CreateKey", body, framing={"Transfer-Encoding": "chunked"}))
        half = len(body) // 2
        for part in (body[:half], body[half:]):
            s.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        s.sendall(b"0\r\n\r\n")
        status, _, payload = read_response(s)
    assert status == 200, payload
    assert json.loads(payload)["KeyMetadata"]["Description"] == "made with a chunked body"


def test_chunked_body_over_one_mib_is_413(server):
    with _connect(server, timeout=30) as s:
        s.sendall(_request(server, "Encrypt", b"", framing={"Transfer-Encoding": "chunked"}))
        chunk = b"x" * 65536
        try:
            for _ in range(20):
                s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, payload = read_response(s)
    assert status == 413
    assert json.loads(payload)["__type"] == "RequestEntityTooLargeException"
    assert _up(server)


def test_declared_body_over_one_mib_is_413(server):
    with _connect(server) as s:
        s.sendall(_request(server, "Encrypt", b"", framing={"Content-Length": str(100 * 1024 * 1024)}))
        status, _, payload = read_response(s)
    assert status == 413
    assert json.loads(payload)["__type"] == "RequestEntityTooLargeException"


@pytest.mark.parametrize(
    "head, status",
    [
        # One header of 100 KiB: past the 64 KiB head limit.
        (b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n", 431),
        # Ten thousand small headers.
        (b"POST / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(10_000)) + b"\r\n", 431),
        (b"GARBAGE\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\nContent-Length: 2\r\n\r\n{}", 400),
        (b"POST / HTTP/9.9\r\nHost: x\r\n\r\n", 400),
    ],
    ids=["one-huge-header", "many-headers", "bad-request-line", "nul-in-header", "bad-version"],
)
def test_heads_hyper_refuses_get_4xx_and_the_server_stays_up(server, head, status):
    with _connect(server) as s:
        try:
            s.sendall(head)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got, headers, _ = read_response(s)
    assert got == status
    assert headers.get("connection") == "close"
    assert _up(server)


def test_idle_connections_are_closed(server):
    with _connect(server) as s:
        # Nothing sent: the idle (3 s) or header (4 s) timeout closes it.
        assert closed_by_server(s, timeout=30)
    with _connect(server) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(s)[0] == 200
        # Kept alive, then silent: closed too.
        assert closed_by_server(s, timeout=30)


def test_connection_limit_refuses_new_connections_and_frees(tmp_path):
    limit = 20
    with serve(tmp_path, "--max-connections", str(limit), "--idle-timeout-seconds", "6", "--header-timeout-seconds", "30") as srv:
        kms = srv.client(retries={"max_attempts": 1, "mode": "standard"})
        kms.list_keys()  # warm: credentials read, then its connection is closed below
        kms.close()
        idle = [_connect(srv) for _ in range(limit)]
        try:
            extra = _connect(srv)
            assert closed_by_server(extra, timeout=5), "a connection past the limit was not closed at once"
            extra.close()
            refused = srv.client(retries={"max_attempts": 1, "mode": "standard"})
            with pytest.raises(CONNECTION_ERRORS):
                refused.list_keys()
        finally:
            for s in idle:
                s.close()
        # The limit frees as the idle clients go: a signed client is served again.
        served = srv.client(retries={"max_attempts": 1, "mode": "standard"})
        deadline = time.monotonic() + 30
        while True:
            try:
                assert served.list_keys()["Keys"] is not None
                break
            except CONNECTION_ERRORS:
                assert time.monotonic() < deadline, "not served after the idle clients left"
                time.sleep(0.2)
        # Idle connections the clients never close are reclaimed by the idle timeout.
        idle = [_connect(srv) for _ in range(limit)]
        try:
            for s in idle:
                assert closed_by_server(s, timeout=30)
            fresh = srv.client(retries={"max_attempts": 1, "mode": "standard"})
            assert fresh.list_keys()["Keys"] is not None
        finally:
            for s in idle:
                s.close()
        assert "connection limit reached" in srv.log()


def _wait_until_read_by_server(server_port: int, client_port: int, timeout: float = 30.0):
    local, remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/tcp") as f:
            for line in f.read().splitlines()[1:]:
                fields = line.split()
                if fields[1] == local and fields[2] == remote and int(fields[4].split(":")[1], 16) == 0:
                    return
        time.sleep(0.05)
    pytest.fail("the server did not read the request head")


def test_sigterm_drains_a_request_in_flight(tmp_path):
    with serve(tmp_path, "--body-timeout-seconds", "30") as srv:
        body = json.dumps({"Description": "finished during shutdown"}).encode()
        s = _connect(srv, timeout=30)
        s.sendall(_request(srv, "CreateKey", body))
        s.sendall(body[:5])
        # A request counts as in flight once the server has read its head: wait until the
        # server's end of the socket has nothing left unread (else the drain may rightly treat
        # the connection as idle and close it).
        _wait_until_read_by_server(srv.port, s.getsockname()[1])
        srv.proc.send_signal(signal.SIGTERM)
        # The server stops accepting: new connections are refused once the listener is gone.
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((srv.host, srv.port), timeout=2).close()
            except OSError:
                break
            assert time.monotonic() < deadline, "still accepting after SIGTERM"
            time.sleep(0.1)
        assert srv.proc.poll() is None, "exited with a request in flight"
        s.sendall(body[5:])
        status, headers, payload = read_response(s)
        s.close()
        assert status == 200, payload
        assert json.loads(payload)["KeyMetadata"]["Description"] == "finished during shutdown"
        assert headers.get("connection") == "close"
        assert srv.proc.wait(timeout=30) == 0
