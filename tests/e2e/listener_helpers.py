"""A `kinko serve` of a test's own (listener flags, HTTPS), and SigV4-signed raw HTTP requests
for the listener suites (test_tls.py, test_listener.py)."""

from __future__ import annotations

import configparser
import contextlib
import dataclasses
import os
import pathlib
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from kinko_server import _free_port, _tail, client_config, kinko_binary

VENV_BIN = pathlib.Path(sys.executable).parent
START_TIMEOUT_S = 60.0
JSON_CT = "application/x-amz-json-1.1"


@dataclasses.dataclass
class Served:
    endpoint: str
    host: str
    port: int
    data_dir: pathlib.Path
    log_file: pathlib.Path
    credentials_file: pathlib.Path
    access_key: str
    secret_key: str
    proc: subprocess.Popen
    ca_file: pathlib.Path | None

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def client(self, service: str = "kms", **overrides):
        s = botocore.session.Session()
        s.set_config_variable("credentials_file", str(self.credentials_file))
        empty = self.data_dir.parent / "aws-config"
        empty.touch()
        s.set_config_variable("config_file", str(empty))
        session = boto3.session.Session(botocore_session=s)
        return session.client(
            service,
            region_name="us-east-1",
            endpoint_url=self.endpoint,
            verify=str(self.ca_file) if self.ca_file else None,
            config=client_config(**overrides),
        )

    def ssl_context(self, ca_file=None) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(ca_file or self.ca_file))

    def signed(self, target: str, body: bytes = b"{}", extra: dict | None = None) -> dict:
        """Headers of a SigV4-signed KMS request (the caller adds framing headers)."""
        headers = {"Host": f"{self.host}:{self.port}", "Content-Type": JSON_CT, "X-Amz-Target": f"TrentService.{target}"}
        headers.update(extra or {})
        req = AWSRequest(method="POST", url=f"{self.endpoint}/", data=body, headers=headers)
        SigV4Auth(Credentials(self.access_key, self.secret_key), "kms", "us-east-1").add_auth(req)
        return dict(req.headers.items())


def tls_init(data_dir: pathlib.Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINKO_")}
    return subprocess.run(
        [str(kinko_binary()), "tls", "init", "--data-dir", str(data_dir), *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def _healthy(endpoint: str, ca_file) -> bool:
    context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
    try:
        with urllib.request.urlopen(f"{endpoint}/healthz", timeout=2, context=context) as r:
            return r.status == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


@contextlib.contextmanager
def serve(base: pathlib.Path, *args: str, ca_file=None, tls=False):
    """`kinko serve` on a free port with `args`; HTTPS when `tls` (health checked with `ca_file`)."""
    base.mkdir(parents=True, exist_ok=True)
    data_dir = base / "data"
    log_file = base / "server.log"
    port = _free_port()
    scheme = "https" if tls else "http"
    endpoint = f"{scheme}://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINKO_")}
    log = open(log_file, "ab")
    proc = subprocess.Popen(
        # AWS's request quotas are off, as in kinko_server.py: these suites are not about them.
        [str(kinko_binary()), "serve", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}", "--quota", "all=off", *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(endpoint, ca_file):
            if proc.poll() is not None:
                pytest.fail(f"kinko exited early with {proc.returncode}:\n{_tail(log_file)}")
            if time.monotonic() > deadline:
                pytest.fail(f"kinko not healthy within {START_TIMEOUT_S}s:\n{_tail(log_file)}")
            time.sleep(0.1)
        cp = configparser.ConfigParser()
        cp.read(data_dir / "credentials")
        yield Served(
            endpoint=endpoint,
            host="127.0.0.1",
            port=port,
            data_dir=data_dir,
            log_file=log_file,
            credentials_file=data_dir / "credentials",
            access_key=cp["default"]["aws_access_key_id"],
            secret_key=cp["default"]["aws_secret_access_key"],
            proc=proc,
            ca_file=ca_file,
        )
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()


def read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    """Reads one HTTP/1.x response (status, lower-cased headers, Content-Length body)."""
    return read_responses(sock, 1)[0]


def read_responses(sock: socket.socket, count: int) -> list[tuple[int, dict, bytes]]:
    """Reads `count` pipelined responses."""
    data = b""
    out = []
    while len(out) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed after {len(out)} responses")
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        out.append((int(lines[0].split(" ")[1]), headers, rest[:length]))
        data = rest[length:]
    return out


def closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """True when the server closes `sock` (EOF or reset) within `timeout` seconds."""
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
