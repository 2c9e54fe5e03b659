"""Session fixtures for the Kinko end-to-end suites.

One `kinko serve` process is started for the whole pytest session on a free
loopback port with a fresh data directory.  Every client (boto3, the AWS CLI v1,
the aws-encryption-sdk, raw HTTP) reads the credentials file the server wrote on
first start.
"""

from __future__ import annotations

import collections
import json
import os
import pathlib
import subprocess
import sys

import boto3
import pytest

from kinko_server import KinkoServer, client_config, kinko_binary, make_botocore_session, run_kinko

# The venv's bin (not the interpreter it links to): the pinned AWS CLI lives there.
VENV_BIN = pathlib.Path(sys.executable).parent
REGION = "us-east-1"

# Environment variables that would make a client ignore the server's credentials
# file or talk to somewhere else.
_AWS_ENV_TO_CLEAR = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_KMS",
    "AWS_CA_BUNDLE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def pytest_collection_modifyitems(session, config, items):
    # The at-rest scan must see everything the other suites wrote, so it runs last.
    last = [i for i in items if i.module.__name__.endswith("test_material_at_rest")]
    first = [i for i in items if i not in last]
    items[:] = first + last


@pytest.fixture(scope="session")
def kinko(tmp_path_factory) -> KinkoServer:
    kinko_binary()
    for var in _AWS_ENV_TO_CLEAR:
        os.environ.pop(var, None)

    base = tmp_path_factory.mktemp("kinko")
    config_file = base / "aws-config"
    config_file.write_text("")
    # data dir must not exist yet: the server creates it
    with run_kinko(base / "data", base / "server.log", config_file) as server:
        # Every SDK in this process (boto3, the ESDK) resolves credentials from here.
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(server.credentials_file)
        os.environ["AWS_CONFIG_FILE"] = str(config_file)
        os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
        yield server
    # The server stopped gracefully (and sealed its chain). Over everything the whole suite did:
    # the trail verifies, and every request a boto3 client of the suite made left exactly one
    # event (CLI subprocesses and raw HTTP requests are not counted here; test_audit.py checks
    # those kinds on a server of its own).
    check_trail(base / "data")


RECORDED_REQUEST_IDS: list[str] = []


def _record_request_id(parsed=None, **_kwargs):
    request_id = (parsed or {}).get("ResponseMetadata", {}).get("RequestId")
    if request_id:
        RECORDED_REQUEST_IDS.append(request_id)


def check_trail(data_dir):
    binary = str(kinko_binary())
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINKO_")}
    verify = subprocess.run(
        [binary, "audit", "verify", "--data-dir", str(data_dir)], capture_output=True, text=True, env=env
    )
    assert verify.returncode == 0, f"audit verify after the suite failed:\n{verify.stdout}\n{verify.stderr}"
    query = subprocess.run(
        [binary, "audit", "query", "--data-dir", str(data_dir)], capture_output=True, text=True, env=env
    )
    assert query.returncode == 0, query.stderr
    counts = collections.Counter(json.loads(line)["requestID"] for line in query.stdout.splitlines() if line.strip())
    assert RECORDED_REQUEST_IDS, "no boto3 request was recorded by the hook"
    wrong = {rid: counts.get(rid, 0) for rid in RECORDED_REQUEST_IDS if counts.get(rid, 0) != 1}
    assert not wrong, f"{len(wrong)} of {len(RECORDED_REQUEST_IDS)} requests do not have exactly one event: {list(wrong.items())[:5]}"


@pytest.fixture(scope="session")
def make_client(kinko):
    """Factory: make_client(region="us-east-1", **Config overrides) -> boto3 KMS client."""

    def _make(region: str = REGION, **overrides):
        botocore_session = make_botocore_session(kinko)
        botocore_session.register("after-call", _record_request_id)
        session = boto3.session.Session(botocore_session=botocore_session)
        return session.client(
            "kms", region_name=region, endpoint_url=kinko.endpoint, config=client_config(**overrides)
        )

    return _make


@pytest.fixture(scope="session")
def kms(make_client):
    return make_client()


@pytest.fixture(scope="session")
def kms_nov(make_client):
    """A client that skips botocore's client-side min-length/range checks, so the
    server's own validation of e.g. NumberOfBytes=0 is what gets exercised."""
    return make_client(parameter_validation=False)


@pytest.fixture(scope="session")
def observed_secrets():
    """Data-key plaintexts and message plaintexts the suites obtained; the
    at-rest scan checks none of them is on disk.  Only values >= 16 bytes are
    recorded (shorter ones could match by chance)."""
    return []


@pytest.fixture(scope="session")
def account_id(kms):
    md = kms.create_key(Description="e2e account probe")["KeyMetadata"]
    return md["AWSAccountId"]


@pytest.fixture(scope="session")
def key(kms):
    """A shared Enabled symmetric key.  Tests must not change its state."""
    return kms.create_key(Description="e2e shared key A")["KeyMetadata"]


@pytest.fixture(scope="session")
def key2(kms):
    return kms.create_key(Description="e2e shared key B")["KeyMetadata"]


@pytest.fixture
def new_key(kms):
    """Factory for a fresh key a test may disable / schedule for deletion."""

    def _new(**kwargs):
        return kms.create_key(**kwargs)["KeyMetadata"]

    return _new


@pytest.fixture(scope="session")
def aws_cli(kinko):
    """Run the AWS CLI v1 against the server.  Returns (returncode, parsed_json_or_None, stderr)."""
    aws = VENV_BIN / "aws"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(kinko.credentials_file),
        AWS_CONFIG_FILE=str(kinko.config_file),
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
    )

    def _run(*args: str, check: bool = True, cwd=None):
        cmd = [str(aws), "--endpoint-url", kinko.endpoint, "--output", "json", "kms", *args]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=cwd)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} -> rc={p.returncode}\nstderr: {p.stderr}\nstdout: {p.stdout}")
        out = json.loads(p.stdout) if p.stdout.strip() else None
        return p.returncode, out, p.stderr

    return _run
