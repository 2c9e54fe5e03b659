"""HTTPS (issue 19, scope 1): `kinko tls init`, `kinko serve --tls-cert/--tls-key` with boto3 and
the AWS CLI, TLS 1.2 and 1.3 with AWS's cipher choices only, `aws:SecureTransport`, and SIGHUP
swapping the certificate for new handshakes while an open connection keeps working."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import time
import warnings

import pytest

from listener_helpers import VENV_BIN, serve, tls_init


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("tls")
    made = tls_init(base / "data")
    assert made.returncode == 0, made.stderr
    tls = base / "data" / "tls"
    with serve(
        base,
        "--tls-cert",
        str(tls / "server.pem"),
        "--tls-key",
        str(tls / "server-key.pem"),
        ca_file=tls / "ca.pem",
        tls=True,
    ) as server:
        yield server, made.stdout


def test_tls_init_writes_private_key_refuses_to_overwrite_and_prints_the_bundle(tmp_path):
    made = tls_init(tmp_path / "d")
    assert made.returncode == 0, made.stderr
    tls = tmp_path / "d" / "tls"
    for name in ("ca.pem", "server.pem", "server-key.pem"):
        assert (tls / name).is_file(), name
    assert stat.S_IMODE(os.stat(tls / "server-key.pem").st_mode) == 0o600
    assert b"PRIVATE KEY" in (tls / "server-key.pem").read_bytes()
    assert b"PRIVATE KEY" not in (tls / "ca.pem").read_bytes()
    assert not list(tls.glob("ca-key*")), "the CA's key is not kept"
    assert f"AWS_CA_BUNDLE={(tls / 'ca.pem').resolve()}" in made.stdout
    assert "--tls-cert" in made.stdout and "--tls-key" in made.stdout
    before = {p.name: p.read_bytes() for p in tls.iterdir()}
    again = tls_init(tmp_path / "d")
    assert again.returncode != 0
    assert "refusing to overwrite" in again.stderr
    assert {p.name: p.read_bytes() for p in tls.iterdir()} == before


def test_boto3_over_https(tls_server):
    server, _ = tls_server
    assert server.endpoint.startswith("https://")
    kms = server.client()
    key_id = kms.create_key(Description="over TLS")["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret over tls")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret over tls"
    assert any(k["KeyId"] == key_id for k in kms.list_keys()["Keys"])


def test_boto3_refuses_the_server_without_the_ca(tls_server):
    server, _ = tls_server
    import botocore.exceptions

    untrusting = dataclasses.replace(server, ca_file=None).client()
    with pytest.raises(botocore.exceptions.SSLError):
        untrusting.list_keys()
    assert server.client().list_keys()["Keys"] is not None


def test_aws_cli_over_https_with_the_printed_bundle(tls_server):
    server, init_output = tls_server
    line = next(l for l in init_output.splitlines() if "AWS_CA_BUNDLE=" in l)
    bundle = line.split("AWS_CA_BUNDLE=", 1)[1].strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(server.credentials_file),
        AWS_CONFIG_FILE=os.devnull,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CA_BUNDLE=bundle,
        AWS_MAX_ATTEMPTS="1",
    )
    p = subprocess.run(
        [str(VENV_BIN / "aws"), "--endpoint-url", server.endpoint, "--output", "json", "kms", "create-key"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    key_id = json.loads(p.stdout)["KeyMetadata"]["KeyId"]
    p = subprocess.run(
        [str(VENV_BIN / "aws"), "--endpoint-url", server.endpoint, "--output", "json", "kms", "describe-key", "--key-id", key_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["KeyMetadata"]["KeyState"] == "Enabled"


def _handshake(server, context: ssl.SSLContext):
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.version(), tls.cipher()[0]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_versions_and_aead_suites(tls_server, version):
    server, _ = tls_server
    context = server.ssl_context()
    context.minimum_version = version
    context.maximum_version = version
    got, cipher = _handshake(server, context)
    assert got == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]
    assert "GCM" in cipher or "CHACHA20" in cipher, cipher
    if version == ssl.TLSVersion.TLSv1_2:
        assert cipher.startswith("ECDHE-"), cipher


def test_cbc_suites_and_old_versions_are_refused(tls_server):
    server, _ = tls_server
    cbc = server.ssl_context()
    cbc.maximum_version = ssl.TLSVersion.TLSv1_2
    cbc.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:AES128-SHA")
    with pytest.raises(ssl.SSLError):
        _handshake(server, cbc)
    old = server.ssl_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1: deprecated, as meant
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError):
        _handshake(server, old)
    # The server is still up for a proper client.
    assert server.client().list_keys()["Keys"] is not None


def _policy(account: str, secure: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
                {
                    "Sid": "transport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "kms:Encrypt",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": secure}},
                },
            ],
        }
    )


def test_secure_transport_is_true_over_tls(tls_server):
    server, _ = tls_server
    kms = server.client()
    account = kms.create_key()["KeyMetadata"]["AWSAccountId"]
    deny_plain = kms.create_key(Policy=_policy(account, "false"))["KeyMetadata"]["KeyId"]
    deny_tls = kms.create_key(Policy=_policy(account, "true"))["KeyMetadata"]["KeyId"]
    assert kms.encrypt(KeyId=deny_plain, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(kms.exceptions.ClientError) as denied:
        kms.encrypt(KeyId=deny_tls, Plaintext=b"x")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"


def _wait_until(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout}s: {what}")
        time.sleep(0.1)


def test_sighup_swaps_the_certificate_and_keeps_open_connections(tmp_path):
    first = tls_init(tmp_path / "one")
    second = tls_init(tmp_path / "two")
    assert first.returncode == 0 and second.returncode == 0
    one, two = tmp_path / "one" / "tls", tmp_path / "two" / "tls"
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(one / "server.pem", live / "cert.pem")
    shutil.copy(one / "server-key.pem", live / "key.pem")
    with serve(
        tmp_path / "srv",
        "--tls-cert", str(live / "cert.pem"),
        "--tls-key", str(live / "key.pem"),
        ca_file=one / "ca.pem",
        tls=True,
    ) as server:
        import http.client

        kept = http.client.HTTPSConnection(server.host, server.port, context=server.ssl_context(one / "ca.pem"), timeout=10)
        kept.request("GET", "/healthz")
        assert kept.getresponse().read() == b"ok"
        kept_socket = kept.sock
        old_cert = kept_socket.getpeercert(binary_form=True)

        shutil.copy(two / "server.pem", live / "cert.pem")
        shutil.copy(two / "server-key.pem", live / "key.pem")
        server.proc.send_signal(signal.SIGHUP)

        def new_handshakes_see_the_new_certificate():
            try:
                _handshake(server, server.ssl_context(two / "ca.pem"))
                return True
            except ssl.SSLError:
                return False

        _wait_until(new_handshakes_see_the_new_certificate, "the reloaded certificate")
        with pytest.raises(ssl.SSLError):
            _handshake(server, server.ssl_context(one / "ca.pem"))

        # The connection opened before the reload is the same one and still serves.
        kept.request("GET", "/healthz")
        assert kept.getresponse().read() == b"ok"
        assert kept.sock is kept_socket
        assert kept.sock.getpeercert(binary_form=True) == old_cert
        kept.close()

        # A broken file keeps the current certificate and says so.
        (live / "cert.pem").write_text("not a certificate\n")
        server.proc.send_signal(signal.SIGHUP)
        _wait_until(lambda: "reloading the TLS certificate failed" in server.log(), "the failed-reload log line")
        _handshake(server, server.ssl_context(two / "ca.pem"))
        assert server.proc.poll() is None


def _lookup_record(server, request_id: str) -> dict:
    from audit_helpers import find_by_request_id, record

    return record(find_by_request_id(server.client("cloudtrail"), request_id))


def test_records_of_tls_requests_carry_tls_details(tls_server, tmp_path):
    server, _ = tls_server
    kms = server.client()
    created = kms.create_key(Description="tlsDetails")
    details = _lookup_record(server, created["ResponseMetadata"]["RequestId"])["tlsDetails"]
    assert details["tlsVersion"] in ("TLSv1.2", "TLSv1.3"), details
    assert details["clientProvidedHostHeader"] == f"{server.host}:{server.port}", details
    # The suite the connection negotiated, in CloudTrail's spelling.
    context = server.ssl_context()
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
    _, cipher = _handshake(server, context)
    if details["tlsVersion"] == "TLSv1.3":
        assert details["cipherSuite"] in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
    assert details["cipherSuite"] != "unknown"
    # An IAM request over TLS is recorded with them too.
    iam = server.client("iam")
    listed = iam.list_users()
    iam_record = _lookup_record(server, listed["ResponseMetadata"]["RequestId"])
    assert iam_record["eventSource"] == "iam.amazonaws.com"
    assert iam_record["tlsDetails"]["tlsVersion"] in ("TLSv1.2", "TLSv1.3")
    # Over plain HTTP there are none.
    with serve(tmp_path / "plain") as plain:
        made = plain.client().create_key()
        assert "tlsDetails" not in _lookup_record(plain, made["ResponseMetadata"]["RequestId"])


def _user_client(server, service: str, user: str, key: dict):
    import boto3

    from kinko_server import client_config

    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=server.endpoint,
        verify=str(server.ca_file),
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=client_config(),
    )


def test_iam_sts_and_cloudtrail_requests_see_secure_transport_and_source_ip(tls_server):
    server, _ = tls_server
    iam = server.client("iam")
    user = f"transport-{os.getpid()}-{time.monotonic_ns()}"
    iam.create_user(UserName=user)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iam:*", "sts:*", "cloudtrail:LookupEvents"], "Resource": "*"},
            {"Effect": "Deny", "Action": "cloudtrail:LookupEvents", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}}},
            {"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
            {"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}}},
            {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
            # Conditions that do not hold over TLS from loopback deny nothing.
            {"Effect": "Deny", "Action": "iam:GetUser", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Effect": "Deny", "Action": "iam:ListUserPolicies", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}},
        ],
    }
    iam.put_user_policy(UserName=user, PolicyName="transport", PolicyDocument=json.dumps(policy))
    account = server.client("sts").get_caller_identity()["Account"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}],
    }
    role_arn = iam.create_role(RoleName=user, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    key = iam.create_access_key(UserName=user)["AccessKey"]
    as_user = _user_client(server, "iam", user, key)
    sts = _user_client(server, "sts", user, key)
    import botocore.exceptions

    calls = (as_user.list_users, as_user.list_roles, lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="session"))
    for call in calls:
        with pytest.raises(botocore.exceptions.ClientError) as denied:
            call()
        assert denied.value.response["Error"]["Code"] == "AccessDenied", call
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        _user_client(server, "cloudtrail", user, key).lookup_events(MaxResults=1)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert as_user.get_user(UserName=user)["User"]["UserName"] == user
    assert as_user.list_user_policies(UserName=user)["PolicyNames"] == ["transport"]
