"""Starting and reaching a `kinko serve` process (used by conftest and the restart test)."""

from __future__ import annotations

import configparser
import contextlib
import dataclasses
import os
import pathlib
import socket
import subprocess
import time
import urllib.error
import urllib.request

import botocore.config
import botocore.session
import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_BIN = REPO / "target" / "debug" / "kinko"
HEALTH_TIMEOUT_S = 30.0


@dataclasses.dataclass(frozen=True)
class KinkoServer:
    endpoint: str  # http://127.0.0.1:PORT
    host: str
    port: int
    credentials_file: pathlib.Path
    config_file: pathlib.Path  # empty AWS config file (region comes from clients)
    data_dir: pathlib.Path
    log_file: pathlib.Path
    access_key: str
    secret_key: str
    proc: subprocess.Popen


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: pathlib.Path, n: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "<no log>"


def kinko_binary() -> pathlib.Path:
    binary = pathlib.Path(os.environ.get("KINKO_BIN", str(DEFAULT_BIN)))
    if not binary.is_file():
        pytest.fail(f"kinko binary not found at {binary} (build it: cargo build -p kinko, or set KINKO_BIN)")
    return binary


SOFTHSM_MODULE = os.environ.get("KINKO_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
HSM_TOKEN = "kinko-e2e"
HSM_PIN = "1234-e2e"


def root_of_trust_args(data_dir: pathlib.Path, server_env: dict) -> list[str]:
    """The root-of-trust flags for the run. `KINKO_TEST_ROOT=pkcs11` runs the whole suite with the
    root key inside a throwaway SoftHSM2 token (one token per data dir, so restarts find it)."""
    root = os.environ.get("KINKO_TEST_ROOT", "file")
    if root == "file":
        return []
    if root != "pkcs11":
        pytest.fail(f"KINKO_TEST_ROOT={root!r}: expected file or pkcs11")
    if not pathlib.Path(SOFTHSM_MODULE).is_file():
        pytest.fail(f"SoftHSM2 module not found at {SOFTHSM_MODULE}: install the softhsm2 package")
    hsm_dir = data_dir.parent / f"{data_dir.name}-softhsm"
    conf = hsm_dir / "softhsm2.conf"
    if not conf.exists():
        (hsm_dir / "tokens").mkdir(parents=True)
        conf.write_text(
            f"directories.tokendir = {hsm_dir / 'tokens'}\n"
            "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
        )
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", HSM_TOKEN, "--pin", HSM_PIN, "--so-pin", "5678-e2e"],
            env={**os.environ, "SOFTHSM2_CONF": str(conf)},
            check=True,
            capture_output=True,
        )
    server_env["SOFTHSM2_CONF"] = str(conf)
    server_env["KINKO_PKCS11_PIN"] = HSM_PIN
    return ["--root", "pkcs11", "--pkcs11-module", SOFTHSM_MODULE, "--pkcs11-token", HSM_TOKEN]


@contextlib.contextmanager
def run_kinko(
    data_dir: pathlib.Path,
    log_file: pathlib.Path,
    config_file: pathlib.Path,
    extra_args: tuple[str, ...] = (),
    extra_env: dict | None = None,
):
    """Start `kinko serve` on a free loopback port, wait for /healthz, yield a KinkoServer,
    terminate it on exit.  Usable several times on one data dir (restart tests).

    AWS's request quotas are off (`--quota all=off`): the suites create keys faster than
    CreateKey's 5 per second and their clients do not retry. `extra_args` come after, so a
    `--quota NAME=RATE` there sets that quota (test_quotas_metrics.py); `extra_env` adds to the
    server's environment."""
    binary = kinko_binary()
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # KINKO_* variables (KINKO_CONFIG, KINKO_DATA_DIR, ...) would override or add to our flags.
    server_env = {k: v for k, v in os.environ.items() if not k.startswith("KINKO_")}
    root_args = root_of_trust_args(data_dir, server_env)
    server_env.update(extra_env or {})
    log = open(log_file, "ab")
    proc = subprocess.Popen(
        [
            str(binary),
            "serve",
            "--data-dir",
            str(data_dir),
            "--listen",
            f"127.0.0.1:{port}",
            *root_args,
            "--quota",
            "all=off",
            *extra_args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=server_env,
    )
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        ready = False
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"kinko exited early with {proc.returncode}:\n{_tail(log_file)}")
            try:
                with urllib.request.urlopen(f"{endpoint}/healthz", timeout=2) as r:
                    if r.status == 200:
                        ready = True
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        if not ready:
            pytest.fail(f"kinko not healthy within {HEALTH_TIMEOUT_S}s:\n{_tail(log_file)}")

        credentials_file = data_dir / "credentials"
        assert credentials_file.is_file(), "server did not write DIR/credentials"
        cp = configparser.ConfigParser()
        cp.read(credentials_file)
        yield KinkoServer(
            endpoint=endpoint,
            host="127.0.0.1",
            port=port,
            credentials_file=credentials_file,
            config_file=config_file,
            data_dir=data_dir,
            log_file=log_file,
            access_key=cp["default"]["aws_access_key_id"],
            secret_key=cp["default"]["aws_secret_access_key"],
            proc=proc,
        )
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()


def client_config(**overrides) -> botocore.config.Config:
    kw = dict(
        retries={"max_attempts": 1, "mode": "standard"},  # no retries: errors surface at once
        connect_timeout=5,
        read_timeout=30,
    )
    kw.update(overrides)
    return botocore.config.Config(**kw)


def make_botocore_session(server: KinkoServer) -> botocore.session.Session:
    s = botocore.session.Session()
    s.set_config_variable("credentials_file", str(server.credentials_file))
    s.set_config_variable("config_file", str(server.config_file))
    return s
