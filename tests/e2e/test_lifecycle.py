"""Key lifecycle (issue #6) with boto3: automatic and on-demand rotation, scheduled deletion (also
across a restart), imported key material (BYOK) for symmetric, HMAC and asymmetric keys, its
expiry, and the NEW_KEY_MATERIAL rotation of an imported symmetric key.

Time is moved on a server of this module's own (the session server is left alone), started with
`--insecure-test-clock` and KINKO_INSECURE_TEST_MODE=1: `POST /insecure/clock {"AdvanceSeconds": n}`
moves its clock forward and runs one scheduler pass synchronously, answering
`{"Now", "Rotated", "Deleted", "Expired"}`. Its background scheduler runs only at start-up and then
once an hour, so the passes the tests trigger are the ones that do the work and their answers list
it; a separate server checks that the background scheduler works by itself.

The clock only moves forward and is shared by every test of the module, so each test uses keys of
its own, reads "now" from the server (not from this host), and checks that its keys are in (or not
in) a pass's lists rather than that the lists are exactly its keys. The clients are unmodified:
they sign with this host's clock.

Material is wrapped the way the AWS docs' OpenSSL recipes do: RSAES_OAEP_SHA_1/256 is RSA-OAEP
(MGF1 with the same hash, empty label) of the raw material; RSA_AES_KEY_WRAP_SHA_1/256 is RSA-OAEP
of a fresh 32-byte AES key followed by the AES key wrap with padding (RFC 5649) of the material.
Symmetric and HMAC material is raw bytes, asymmetric material a PKCS#8 DER private key.
"""

from __future__ import annotations

import configparser
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import pathlib
import subprocess
import time
import urllib.error
import urllib.request

import boto3
import pytest
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from kinko_helpers import expect_error, unique_alias
from kinko_server import (
    HEALTH_TIMEOUT_S,
    KinkoServer,
    _free_port,
    _tail,
    client_config,
    kinko_binary,
    make_botocore_session,
    root_of_trust_args,
)

REGION = "us-east-1"
DAY = 86_400
HOUR = 3_600
TEST_MODE_ENV = "KINKO_INSECURE_TEST_MODE"
# A background scheduler pass an hour apart: only the passes the tests trigger do work.
QUIET_JOBS = ("--jobs-interval-seconds", "3600")

# Environment variables that would make a client ignore the server's credentials file or talk to
# somewhere else (the same list conftest clears for the session server).
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
)


# --------------------------------------------------------------------------- servers and clock


def _start(data_dir: pathlib.Path, log_file: pathlib.Path, args: list[str], env: dict):
    """Popen `kinko serve` with the run's root of trust (KINKO_TEST_ROOT, as kinko_server does)."""
    server_env = {k: v for k, v in os.environ.items() if not k.startswith("KINKO_")}
    server_env.update(env)
    root_args = root_of_trust_args(data_dir, server_env)
    log = open(log_file, "ab")
    proc = subprocess.Popen(
        # AWS's request quotas are off, as in kinko_server.py: these suites are not about them.
        [str(kinko_binary()), "serve", "--data-dir", str(data_dir), "--quota", "all=off", *args, *root_args],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=server_env,
    )
    return proc, log


def stop(server: KinkoServer) -> int:
    """SIGTERM (graceful shutdown) and wait; returns the exit code."""
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=10)
            pytest.fail(f"kinko did not stop within 15 s of SIGTERM:\n{_tail(server.log_file)}")
    return server.proc.returncode


@contextlib.contextmanager
def run_clock_kinko(
    data_dir: pathlib.Path,
    log_file: pathlib.Path,
    config_file: pathlib.Path,
    *,
    test_clock: bool = True,
    extra_args: tuple[str, ...] = QUIET_JOBS,
):
    """Like kinko_server.run_kinko, but with `--insecure-test-clock` (and the test-mode variable)
    and extra flags. Usable several times on one data dir; stopped with SIGTERM on exit."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    args = ["--listen", f"127.0.0.1:{port}", *extra_args]
    env = {}
    if test_clock:
        args.append("--insecure-test-clock")
        env[TEST_MODE_ENV] = "1"
    proc, log = _start(data_dir, log_file, args, env)
    server = None
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"kinko exited early with {proc.returncode}:\n{_tail(log_file)}")
            if time.monotonic() > deadline:
                pytest.fail(f"kinko not healthy within {HEALTH_TIMEOUT_S}s:\n{_tail(log_file)}")
            try:
                with urllib.request.urlopen(f"{endpoint}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        credentials_file = data_dir / "credentials"
        assert credentials_file.is_file(), "server did not write DIR/credentials"
        cp = configparser.ConfigParser()
        cp.read(credentials_file)
        server = KinkoServer(
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
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()


def clear_aws_env():
    for var in _AWS_ENV_TO_CLEAR:
        os.environ.pop(var, None)


def kms_client(server: KinkoServer, **overrides):
    session = boto3.session.Session(botocore_session=make_botocore_session(server))
    return session.client(
        "kms", region_name=REGION, endpoint_url=server.endpoint, config=client_config(**overrides)
    )


def post_clock(endpoint: str, body: bytes) -> tuple[int, bytes]:
    req = urllib.request.Request(
        f"{endpoint}/insecure/clock", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def advance(server: KinkoServer, seconds: int) -> dict:
    """Moves the server's clock forward by `seconds` and runs one scheduler pass; its report."""
    status, body = post_clock(server.endpoint, json.dumps({"AdvanceSeconds": seconds}).encode())
    assert status == 200, f"POST /insecure/clock -> HTTP {status}: {body[:300]!r}"
    report = json.loads(body)
    assert set(report) == {"Now", "Rotated", "Deleted", "Expired"}, report
    return report


def server_now(server: KinkoServer) -> float:
    return advance(server, 0)["Now"]


def ts(value: dt.datetime) -> float:
    assert isinstance(value, dt.datetime) and value.tzinfo is not None, value
    return value.timestamp()


def at(epoch: float) -> dt.datetime:
    """A whole-second UTC datetime (what the wire carries for ValidTo)."""
    return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)


def near(actual: float, expected: float, slack: float = 120.0) -> bool:
    return abs(actual - expected) <= slack


# --------------------------------------------------------------------------- BYOK helpers

_OAEP_HASH = {
    "RSAES_OAEP_SHA_1": hashes.SHA1,
    "RSAES_OAEP_SHA_256": hashes.SHA256,
    "RSA_AES_KEY_WRAP_SHA_1": hashes.SHA1,
    "RSA_AES_KEY_WRAP_SHA_256": hashes.SHA256,
}


def wrap_material(public_key_der: bytes, algorithm: str, material: bytes) -> bytes:
    """EncryptedKeyMaterial for `material` under the wrapping key, as the AWS OpenSSL recipes make it."""
    public = serialization.load_der_public_key(public_key_der)
    assert isinstance(public, rsa.RSAPublicKey)
    h = _OAEP_HASH[algorithm]
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=h()), algorithm=h(), label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public.encrypt(material, oaep)
    aes_key = os.urandom(32)
    return public.encrypt(aes_key, oaep) + keywrap.aes_key_wrap_with_padding(aes_key, material)


def params_for(kms, key_id: str, algorithm: str = "RSAES_OAEP_SHA_256", spec: str = "RSA_2048") -> dict:
    return kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=spec)


def import_material(
    kms,
    key_id: str,
    material: bytes,
    algorithm: str = "RSAES_OAEP_SHA_256",
    spec: str = "RSA_2048",
    **kwargs,
) -> dict:
    """GetParametersForImport + wrap + ImportKeyMaterial (KEY_MATERIAL_DOES_NOT_EXPIRE unless told)."""
    p = params_for(kms, key_id, algorithm, spec)
    kwargs.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    return kms.import_key_material(
        KeyId=key_id,
        ImportToken=p["ImportToken"],
        EncryptedKeyMaterial=wrap_material(p["PublicKey"], algorithm, material),
        **kwargs,
    )


def pkcs8(private_key) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def spki(private_key) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def describe(kms, key_id: str) -> dict:
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]


def rotations(kms, key_id: str, **kwargs) -> list[dict]:
    pages = kms.get_paginator("list_key_rotations").paginate(KeyId=key_id, **kwargs)
    return [r for page in pages for r in page["Rotations"]]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def clock_kinko(tmp_path_factory) -> KinkoServer:
    clear_aws_env()
    base = tmp_path_factory.mktemp("lifecycle")
    config_file = base / "aws-config"
    config_file.write_text("")
    with run_clock_kinko(base / "data", base / "server.log", config_file) as server:
        yield server


@pytest.fixture(scope="module")
def kms(clock_kinko):
    return kms_client(clock_kinko)


@pytest.fixture(scope="module")
def kms_nov(clock_kinko):
    """No client-side range checks: the server's own validation is what gets exercised."""
    return kms_client(clock_kinko, parameter_validation=False)


# --------------------------------------------------------------------------- the test clock itself


def test_test_clock_is_refused_outside_test_mode(tmp_path):
    """--insecure-test-clock without KINKO_INSECURE_TEST_MODE=1: the server refuses to start."""
    data_dir = tmp_path / "data"
    port = _free_port()
    proc, log = _start(data_dir, tmp_path / "server.log", ["--listen", f"127.0.0.1:{port}", "--insecure-test-clock"], {})
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        pytest.fail("kinko started with --insecure-test-clock outside test mode and kept running")
    finally:
        log.close()
    out = (tmp_path / "server.log").read_text(errors="replace")
    assert rc != 0, out
    assert "insecure_test_clock" in out, out
    assert TEST_MODE_ENV in out, out
    # It refused before doing first-start work: no credentials were written.
    assert not (data_dir / "credentials").exists()


def test_clock_endpoint_moves_time_forward(clock_kinko):
    before = server_now(clock_kinko)
    assert before >= time.time() - 60  # epoch seconds, never behind the real time
    report = advance(clock_kinko, HOUR)
    assert near(report["Now"] - before, HOUR, 60.0), (before, report)
    assert all(isinstance(report[k], list) for k in ("Rotated", "Deleted", "Expired"))
    # A negative step does not move the clock back.
    after = advance(clock_kinko, -10 * DAY)["Now"]
    assert after >= report["Now"]


def test_requests_signed_with_this_hosts_clock_work_after_the_clock_moves(kms, clock_kinko):
    """Moving the server's clock moves key schedules, not request authentication: an unmodified
    client (signing with the real time) still gets answers after the clock moved days ahead."""
    k = kms.create_key(Description="lc signing")["KeyMetadata"]
    advance(clock_kinko, 2 * DAY)
    assert describe(kms, k["KeyId"])["KeyId"] == k["KeyId"]


# --------------------------------------------------------------------------- rotation


def test_rotation_status_period_and_validation(kms, kms_nov, clock_kinko):
    k = kms.create_key(Description="lc rotation settings")["KeyMetadata"]
    kid = k["KeyId"]
    status = kms.get_key_rotation_status(KeyId=kid)
    assert status["KeyRotationEnabled"] is False
    # The model says only "identifies the key" (key ID or ARN; the docs' example shows an ID).
    assert status["KeyId"] in (kid, k["Arn"])
    assert "NextRotationDate" not in status

    kms.enable_key_rotation(KeyId=kid)  # default period: 365 days
    now = server_now(clock_kinko)
    status = kms.get_key_rotation_status(KeyId=k["Arn"])
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 365
    assert near(ts(status["NextRotationDate"]), now + 365 * DAY), (status, now)

    kms.enable_key_rotation(KeyId=kid, RotationPeriodInDays=180)
    status = kms.get_key_rotation_status(KeyId=kid)
    assert status["RotationPeriodInDays"] == 180
    assert near(ts(status["NextRotationDate"]), now + 180 * DAY), (status, now)

    for bad in (89, 2561, 0, -1):
        expect_error("ValidationException", kms_nov.enable_key_rotation, KeyId=kid, RotationPeriodInDays=bad)
    assert kms.get_key_rotation_status(KeyId=kid)["RotationPeriodInDays"] == 180
    for edge in (2560, 90):
        kms.enable_key_rotation(KeyId=kid, RotationPeriodInDays=edge)
        assert kms.get_key_rotation_status(KeyId=kid)["RotationPeriodInDays"] == edge

    kms.disable_key_rotation(KeyId=kid)
    status = kms.get_key_rotation_status(KeyId=kid)
    assert status["KeyRotationEnabled"] is False
    assert "NextRotationDate" not in status
    # Disabled rotation does not rotate, however long we wait.
    report = advance(clock_kinko, 91 * DAY)
    assert k["Arn"] not in report["Rotated"]
    assert describe(kms, kid)["CurrentKeyMaterialId"] == k["CurrentKeyMaterialId"]
    assert kms.list_key_rotations(KeyId=kid)["Rotations"] == []

    # Rotation exists for symmetric encryption keys only.
    for spec, usage in (("HMAC_256", "GENERATE_VERIFY_MAC"), ("RSA_2048", "ENCRYPT_DECRYPT"), ("ECC_NIST_P256", "SIGN_VERIFY")):
        other = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
        expect_error("UnsupportedOperationException", kms.enable_key_rotation, KeyId=other["KeyId"])
        expect_error(
            "UnsupportedOperationException", kms.enable_key_rotation, KeyId=other["KeyId"], RotationPeriodInDays=90
        )
        expect_error("UnsupportedOperationException", kms.rotate_key_on_demand, KeyId=other["KeyId"])

    # A disabled key's rotation status cannot be changed (AWS: DisabledException).
    d = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=d["KeyId"])
    expect_error("DisabledException", kms.enable_key_rotation, KeyId=d["KeyId"])
    expect_error("DisabledException", kms.enable_key_rotation, KeyId=d["KeyId"], RotationPeriodInDays=100)
    expect_error("DisabledException", kms.disable_key_rotation, KeyId=d["KeyId"])
    expect_error("DisabledException", kms.rotate_key_on_demand, KeyId=d["KeyId"])
    # State before spec: a disabled RSA key is DisabledException '<ARN> is disabled.' (issue 21).
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    kms.disable_key(KeyId=rsa["KeyId"])
    e = expect_error("DisabledException", kms.rotate_key_on_demand, KeyId=rsa["KeyId"])
    assert e.response["Error"]["Message"] == f"{rsa['Arn']} is disabled."


def test_automatic_rotation_over_a_year_keeps_every_old_ciphertext(kms, clock_kinko):
    k = kms.create_key(Description="lc yearly")["KeyMetadata"]
    kid, arn = k["KeyId"], k["Arn"]
    kms.enable_key_rotation(KeyId=kid, RotationPeriodInDays=90)
    materials = [k["CurrentKeyMaterialId"]]
    made = []  # (ciphertext, plaintext, encryption context, the material it was made with)

    def make(step: int):
        ec_ = {"step": str(step)}
        if step % 2 == 0:
            dk = kms.generate_data_key(KeyId=kid, KeySpec="AES_256", EncryptionContext=ec_)
            assert dk["KeyMaterialId"] == materials[-1]
            made.append((dk["CiphertextBlob"], dk["Plaintext"], ec_, dk["KeyMaterialId"]))
        else:
            # Encrypt does not say which material it used: the current one, which nothing else
            # changes between here and the next clock step.
            pt = os.urandom(40)
            ct = kms.encrypt(KeyId=kid, Plaintext=pt, EncryptionContext=ec_)["CiphertextBlob"]
            made.append((ct, pt, ec_, describe(kms, kid)["CurrentKeyMaterialId"]))

    for step in range(5):
        make(step)
        report = advance(clock_kinko, 91 * DAY)
        assert arn in report["Rotated"], (step, report)
        assert report["Rotated"].count(arn) == 1
        current = describe(kms, kid)["CurrentKeyMaterialId"]
        assert current not in materials, f"step {step}: material did not change"
        materials.append(current)

        status = kms.get_key_rotation_status(KeyId=kid)
        assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
        assert near(ts(status["NextRotationDate"]), report["Now"] + 90 * DAY), (step, status, report["Now"])

        listed = kms.list_key_rotations(KeyId=kid)
        assert listed["Truncated"] is False and "NextMarker" not in listed
        entries = listed["Rotations"]
        assert len(entries) == step + 1
        assert {e["KeyMaterialId"] for e in entries} == set(materials[1:])
        for e in entries:
            assert e["KeyId"] == arn
            assert e["RotationType"] == "AUTOMATIC"
        newest = next(e for e in entries if e["KeyMaterialId"] == current)
        assert near(ts(newest["RotationDate"]), report["Now"], 60.0), (newest, report["Now"])
        assert newest["KeyMaterialState"] == "CURRENT"

    make(5)  # one more, with the last material
    assert len(set(materials)) == 6

    # Every ciphertext still decrypts, and says which material it was made with.
    for ct, pt, ec_, material in made:
        out = kms.decrypt(CiphertextBlob=ct, EncryptionContext=ec_)
        assert out["Plaintext"] == pt
        assert out["KeyId"] == arn
        assert out["KeyMaterialId"] == material
    assert [m for *_, m in made] == materials  # one ciphertext per material, in order

    # ReEncrypt moves the oldest ciphertext to the current material.
    ct, pt, ec_, material = made[0]
    re = kms.re_encrypt(
        CiphertextBlob=ct, SourceEncryptionContext=ec_, DestinationKeyId=kid, DestinationEncryptionContext=ec_
    )
    assert re["SourceKeyId"] == arn and re["KeyId"] == arn
    assert re["SourceKeyMaterialId"] == materials[0]
    assert re["DestinationKeyMaterialId"] == materials[-1] == describe(kms, kid)["CurrentKeyMaterialId"]
    out = kms.decrypt(CiphertextBlob=re["CiphertextBlob"], EncryptionContext=ec_)
    assert out["Plaintext"] == pt and out["KeyMaterialId"] == materials[-1]


def test_disabled_key_is_not_rotated_and_catches_up_when_enabled(kms, clock_kinko):
    k = kms.create_key(Description="lc paused")["KeyMetadata"]
    kid, arn = k["KeyId"], k["Arn"]
    kms.enable_key_rotation(KeyId=kid, RotationPeriodInDays=90)
    kms.disable_key(KeyId=kid)
    report = advance(clock_kinko, 100 * DAY)
    assert arn not in report["Rotated"]
    assert describe(kms, kid)["CurrentKeyMaterialId"] == k["CurrentKeyMaterialId"]
    # Re-enabled after more than a period without rotating: it rotates at once.
    kms.enable_key(KeyId=kid)
    report = advance(clock_kinko, 60)
    assert arn in report["Rotated"], report
    assert describe(kms, kid)["CurrentKeyMaterialId"] != k["CurrentKeyMaterialId"]
    status = kms.get_key_rotation_status(KeyId=kid)
    assert near(ts(status["NextRotationDate"]), report["Now"] + 90 * DAY), (status, report["Now"])


def test_rotate_on_demand_limit_and_list_key_rotations_paging(kms, kms_nov, clock_kinko):
    k = kms.create_key(Description="lc on demand")["KeyMetadata"]
    kid, arn, original = k["KeyId"], k["Arn"], k["CurrentKeyMaterialId"]
    empty = kms.list_key_rotations(KeyId=kid)
    assert empty["Rotations"] == [] and empty["Truncated"] is False

    pt = b"made before any on-demand rotation"
    ct = kms.encrypt(KeyId=kid, Plaintext=pt)["CiphertextBlob"]
    made = []
    for i in range(25):
        out = kms.rotate_key_on_demand(KeyId=kid if i % 2 else arn)
        assert out["KeyId"] == arn  # AWS answers with the key ARN (issue 21's table)
        current = describe(kms, kid)["CurrentKeyMaterialId"]
        assert current != original and current not in made, i
        made.append(current)
    now = server_now(clock_kinko)
    # The 26th on-demand rotation is over the limit; the key keeps its material.
    expect_error("LimitExceededException", kms.rotate_key_on_demand, KeyId=kid)
    assert describe(kms, kid)["CurrentKeyMaterialId"] == made[-1]
    # Old ciphertexts still decrypt.
    out = kms.decrypt(CiphertextBlob=ct)
    assert out["Plaintext"] == pt and out["KeyMaterialId"] == original

    # Limit/Marker by hand: 10 + 10 + 5.
    pages, marker = [], None
    while True:
        kw = {"Marker": marker} if marker else {}
        page = kms.list_key_rotations(KeyId=kid, Limit=10, **kw)
        pages.append(page["Rotations"])
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        assert page["NextMarker"]
        marker = page["NextMarker"]
    assert [len(p) for p in pages] == [10, 10, 5]
    by_hand = [e for p in pages for e in p]
    assert sorted(e["KeyMaterialId"] for e in by_hand) == sorted(made)
    for e in by_hand:
        assert e["KeyId"] == arn
        assert e["RotationType"] == "ON_DEMAND"
        assert near(ts(e["RotationDate"]), now, 120.0)
        assert e["KeyMaterialState"] == ("CURRENT" if e["KeyMaterialId"] == made[-1] else "NON_CURRENT")
    # The paginator sees the same list in the same order.
    assert [e["KeyMaterialId"] for e in rotations(kms, kid, PaginationConfig={"PageSize": 7})] == [
        e["KeyMaterialId"] for e in by_hand
    ]
    assert len(rotations(kms, kid, IncludeKeyMaterial="ROTATIONS_ONLY")) == 25

    # ALL_KEY_MATERIAL adds the first material (no rotation date or type).
    everything = rotations(kms, kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert len(everything) == 26
    assert {e["KeyMaterialId"] for e in everything} == {original, *made}
    first = next(e for e in everything if e["KeyMaterialId"] == original)
    assert "RotationType" not in first and "RotationDate" not in first
    assert first["KeyMaterialState"] == "NON_CURRENT"
    assert [e["KeyMaterialId"] for e in everything if e["KeyMaterialState"] == "CURRENT"] == [made[-1]]

    expect_error("ValidationException", kms.list_key_rotations, KeyId=kid, IncludeKeyMaterial="EVERYTHING")
    expect_error("ValidationException", kms_nov.list_key_rotations, KeyId=kid, Limit=0)
    expect_error("ValidationException", kms_nov.list_key_rotations, KeyId=kid, Limit=1001)
    expect_error("InvalidMarkerException", kms.list_key_rotations, KeyId=kid, Marker="not-a-marker")


def test_rotate_on_demand_conflicts_with_a_due_automatic_rotation(kms, clock_kinko):
    k = kms.create_key(Description="lc conflict")["KeyMetadata"]
    kid, arn = k["KeyId"], k["Arn"]
    kms.enable_key_rotation(KeyId=kid, RotationPeriodInDays=90)
    next_rotation = ts(kms.get_key_rotation_status(KeyId=kid)["NextRotationDate"])
    # On demand, well before the automatic rotation: fine, and the schedule does not move.
    kms.rotate_key_on_demand(KeyId=kid)
    assert ts(kms.get_key_rotation_status(KeyId=kid)["NextRotationDate"]) == next_rotation
    on_demand = describe(kms, kid)["CurrentKeyMaterialId"]

    # ~10 minutes before the automatic rotation: ConflictException.
    now = server_now(clock_kinko)
    report = advance(clock_kinko, int(next_rotation - now) - 600)
    assert arn not in report["Rotated"]
    assert near(next_rotation - report["Now"], 600, 30.0)
    expect_error("ConflictException", kms.rotate_key_on_demand, KeyId=kid)
    assert describe(kms, kid)["CurrentKeyMaterialId"] == on_demand

    # After the automatic rotation has happened, on-demand rotation works again.
    report = advance(clock_kinko, 11 * 60)
    assert arn in report["Rotated"]
    automatic = describe(kms, kid)["CurrentKeyMaterialId"]
    assert automatic != on_demand
    kms.rotate_key_on_demand(KeyId=kid)
    types = sorted(e["RotationType"] for e in kms.list_key_rotations(KeyId=kid)["Rotations"])
    assert types == ["AUTOMATIC", "ON_DEMAND", "ON_DEMAND"]


# --------------------------------------------------------------------------- deletion


def test_scheduled_deletion_deletes_key_aliases_and_material(kms, clock_kinko):
    k = kms.create_key(Description="lc doomed")["KeyMetadata"]
    kid, arn = k["KeyId"], k["Arn"]
    alias = unique_alias("lc-doomed")
    kms.create_alias(AliasName=alias, TargetKeyId=kid)
    ct = kms.encrypt(KeyId=alias, Plaintext=b"lost with the key")["CiphertextBlob"]
    bystander = kms.create_key(Description="lc bystander")["KeyMetadata"]

    now = server_now(clock_kinko)
    sched = kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
    assert sched["KeyId"] == arn and sched["KeyState"] == "PendingDeletion"
    assert sched["PendingWindowInDays"] == 7
    assert near(ts(sched["DeletionDate"]), now + 7 * DAY), (sched, now)

    report = advance(clock_kinko, 6 * DAY)
    assert arn not in report["Deleted"]
    md = describe(kms, kid)
    assert md["KeyState"] == "PendingDeletion" and md["DeletionDate"] == sched["DeletionDate"]

    report = advance(clock_kinko, 2 * DAY)
    assert report["Deleted"].count(arn) == 1, report
    assert bystander["Arn"] not in report["Deleted"]
    expect_error("NotFoundException", kms.describe_key, KeyId=kid)
    expect_error("NotFoundException", kms.describe_key, KeyId=arn)
    expect_error("NotFoundException", kms.describe_key, KeyId=alias)
    names = {a["AliasName"] for p in kms.get_paginator("list_aliases").paginate() for a in p["Aliases"]}
    assert alias not in names
    ids = {x["KeyId"] for p in kms.get_paginator("list_keys").paginate() for x in p["Keys"]}
    assert kid not in ids and bystander["KeyId"] in ids
    # Its ciphertexts are undecryptable. Without KeyId the server answers InvalidCiphertextException
    # (the key the blob names is gone); naming the deleted key gives NotFoundException.
    err = expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=ct)
    assert "Plaintext" not in err.response
    err = expect_error("NotFoundException", kms.decrypt, CiphertextBlob=ct, KeyId=arn)
    assert "Plaintext" not in err.response
    expect_error("NotFoundException", kms.cancel_key_deletion, KeyId=kid)

    # A second pass does not delete it again; the alias name is free again.
    assert arn not in advance(clock_kinko, 60)["Deleted"]
    kms.create_alias(AliasName=alias, TargetKeyId=bystander["KeyId"])
    assert describe(kms, alias)["KeyId"] == bystander["KeyId"]


def test_cancelled_deletion_leaves_the_key_disabled_and_restores_rotation(kms, clock_kinko):
    k = kms.create_key(Description="lc reprieve")["KeyMetadata"]
    kid, arn = k["KeyId"], k["Arn"]
    ct = kms.encrypt(KeyId=kid, Plaintext=b"survives")["CiphertextBlob"]
    kms.enable_key_rotation(KeyId=kid, RotationPeriodInDays=90)
    advance(clock_kinko, 85 * DAY)

    kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
    # Pending deletion: rotation reported off, cannot be changed, and does not happen.
    status = kms.get_key_rotation_status(KeyId=kid)
    assert status["KeyRotationEnabled"] is False, status
    expect_error("KMSInvalidStateException", kms.enable_key_rotation, KeyId=kid)
    expect_error("KMSInvalidStateException", kms.rotate_key_on_demand, KeyId=kid)
    report = advance(clock_kinko, 6 * DAY)  # past the rotation date (day 90), before deletion (day 92)
    assert arn not in report["Rotated"] and arn not in report["Deleted"]
    assert describe(kms, kid)["CurrentKeyMaterialId"] == k["CurrentKeyMaterialId"]

    out = kms.cancel_key_deletion(KeyId=kid)
    assert out["KeyId"] == arn
    md = describe(kms, kid)
    assert md["KeyState"] == "Disabled" and md["Enabled"] is False and "DeletionDate" not in md
    status = kms.get_key_rotation_status(KeyId=kid)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90

    report = advance(clock_kinko, 3 * DAY)  # past the cancelled deletion date
    assert arn not in report["Deleted"] and arn not in report["Rotated"]
    assert describe(kms, kid)["KeyState"] == "Disabled"
    expect_error("DisabledException", kms.decrypt, CiphertextBlob=ct)
    kms.enable_key(KeyId=kid)
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"survives"
    # Overdue (last material older than a period): rotated on the next pass.
    report = advance(clock_kinko, 60)
    assert arn in report["Rotated"]
    assert describe(kms, kid)["CurrentKeyMaterialId"] != k["CurrentKeyMaterialId"]
    assert kms.decrypt(CiphertextBlob=ct)["KeyMaterialId"] == k["CurrentKeyMaterialId"]


def _audit_records(data_dir: pathlib.Path, *args: str) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINKO_")}
    q = subprocess.run(
        [str(kinko_binary()), "audit", "query", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=env,
    )
    assert q.returncode == 0, q.stderr
    return [json.loads(line) for line in q.stdout.splitlines() if line.strip()]


def test_deletion_across_a_restart_happens_exactly_once(tmp_path):
    clear_aws_env()
    data_dir, log, cfg = tmp_path / "data", tmp_path / "server.log", tmp_path / "aws-config"
    cfg.write_text("")

    with run_clock_kinko(data_dir, log, cfg) as s1:
        kms = kms_client(s1)
        advance(s1, DAY)  # the deletion date is one day later than it would be on the real clock
        k = kms.create_key(Description="lc restart doomed")["KeyMetadata"]
        keeper = kms.create_key(Description="lc restart keeper")["KeyMetadata"]
        ct = kms.encrypt(KeyId=keeper["KeyId"], Plaintext=b"keeper")["CiphertextBlob"]
        sched = kms.schedule_key_deletion(KeyId=k["KeyId"], PendingWindowInDays=7)
        assert stop(s1) == 0, _tail(log)

    # The restarted server's clock starts from the real time again (offset 0).
    with run_clock_kinko(data_dir, log, cfg) as s2:
        kms = kms_client(s2)
        md = describe(kms, k["KeyId"])
        assert md["KeyState"] == "PendingDeletion" and md["DeletionDate"] == sched["DeletionDate"]
        report = advance(s2, 7 * DAY)  # real + 7 days: one day short of the stored date
        assert k["Arn"] not in report["Deleted"]
        assert describe(kms, k["KeyId"])["KeyState"] == "PendingDeletion"
        report = advance(s2, 2 * DAY)
        assert report["Deleted"] == [k["Arn"]], report
        assert advance(s2, DAY)["Deleted"] == []
        expect_error("NotFoundException", kms.describe_key, KeyId=k["KeyId"])
        assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"keeper"
        assert stop(s2) == 0, _tail(log)

    with run_clock_kinko(data_dir, log, cfg) as s3:
        kms = kms_client(s3)
        expect_error("NotFoundException", kms.describe_key, KeyId=k["KeyId"])
        assert describe(kms, keeper["KeyId"])["KeyState"] == "Enabled"
        assert advance(s3, 30 * DAY)["Deleted"] == []
        assert stop(s3) == 0, _tail(log)

    # The audit trail records the deletion once, as a service event.
    deletes = [r for r in _audit_records(data_dir, "--key", k["Arn"]) if r.get("eventName") == "DeleteKey"]
    assert len(deletes) == 1, deletes
    assert deletes[0].get("eventType") == "AwsServiceEvent"


def test_background_scheduler_runs_by_itself(tmp_path):
    """Without the test clock and with a 1-second job interval, material imported with a ValidTo a
    few seconds ahead expires with nobody asking."""
    clear_aws_env()
    data_dir, log, cfg = tmp_path / "data", tmp_path / "server.log", tmp_path / "aws-config"
    cfg.write_text("")
    with run_clock_kinko(
        data_dir, log, cfg, test_clock=False, extra_args=("--jobs-interval-seconds", "1")
    ) as s:
        # Not started in test mode: there is no clock endpoint.
        status, body = post_clock(s.endpoint, b'{"AdvanceSeconds": 86400}')
        assert status != 200 and b'"Now"' not in body, (status, body[:300])
        kms = kms_client(s)
        k = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
        p = params_for(kms, k["KeyId"])
        wrapped = wrap_material(p["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32))
        valid_to = at(time.time() + 5)  # 4-5 s ahead (whole seconds)
        kms.import_key_material(
            KeyId=k["KeyId"],
            ImportToken=p["ImportToken"],
            EncryptedKeyMaterial=wrapped,
            ExpirationModel="KEY_MATERIAL_EXPIRES",
            ValidTo=valid_to,
        )
        assert describe(kms, k["KeyId"])["KeyState"] == "Enabled"
        deadline = time.monotonic() + 20
        while describe(kms, k["KeyId"])["KeyState"] != "PendingImport":
            assert time.monotonic() < deadline, "imported material did not expire within 15 s of its ValidTo"
            time.sleep(0.5)
        assert time.time() >= valid_to.timestamp() - 1
        expect_error("KMSInvalidStateException", kms.encrypt, KeyId=k["KeyId"], Plaintext=b"x")


# --------------------------------------------------------------------------- import (BYOK)


def _material(kind: str):
    """(KeySpec, KeyUsage, material bytes, private key object or None)."""
    if kind == "SYMMETRIC_DEFAULT":
        return "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", os.urandom(32), None
    if kind == "HMAC_256":
        return "HMAC_256", "GENERATE_VERIFY_MAC", os.urandom(32), None
    if kind == "ECC_NIST_P256":
        priv = ec.generate_private_key(ec.SECP256R1())
        return "ECC_NIST_P256", "SIGN_VERIFY", pkcs8(priv), priv
    if kind == "RSA_2048":
        priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return "RSA_2048", "ENCRYPT_DECRYPT", pkcs8(priv), priv
    raise AssertionError(kind)


# (kind, wrapping algorithm, wrapping key spec): every algorithm and every wrapping key size once.
IMPORT_CASES = [
    ("SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_256", "RSA_2048"),
    ("HMAC_256", "RSAES_OAEP_SHA_1", "RSA_3072"),
    ("ECC_NIST_P256", "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048"),
    ("RSA_2048", "RSA_AES_KEY_WRAP_SHA_1", "RSA_4096"),
]


@pytest.mark.parametrize("kind,algorithm,wrapping_spec", IMPORT_CASES, ids=[c[0] for c in IMPORT_CASES])
def test_import_key_material(kms, clock_kinko, kind, algorithm, wrapping_spec):
    spec, usage, material, priv = _material(kind)
    kw = {} if spec == "SYMMETRIC_DEFAULT" else {"KeySpec": spec, "KeyUsage": usage}
    k = kms.create_key(Origin="EXTERNAL", Description=f"lc byok {kind}", **kw)["KeyMetadata"]
    kid, arn = k["KeyId"], k["Arn"]
    assert k["Origin"] == "EXTERNAL" and k["KeyState"] == "PendingImport" and k["Enabled"] is False

    # Unusable until imported [infer for HMAC and asymmetric: the PendingImport column, reference §4].
    if kind == "SYMMETRIC_DEFAULT":
        expect_error("KMSInvalidStateException", kms.encrypt, KeyId=kid, Plaintext=b"x")
        expect_error("KMSInvalidStateException", kms.generate_data_key, KeyId=kid, KeySpec="AES_256")
    elif kind == "HMAC_256":
        expect_error("KMSInvalidStateException", kms.generate_mac, KeyId=kid, Message=b"m", MacAlgorithm="HMAC_SHA_256")
    elif kind == "ECC_NIST_P256":
        expect_error("KMSInvalidStateException", kms.sign, KeyId=kid, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    else:
        expect_error(
            "KMSInvalidStateException", kms.encrypt, KeyId=kid, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256"
        )

    now = server_now(clock_kinko)
    p = params_for(kms, kid, algorithm, wrapping_spec)
    assert p["KeyId"] == arn
    assert isinstance(p["ImportToken"], bytes) and p["ImportToken"]
    wrapping = serialization.load_der_public_key(p["PublicKey"])  # SPKI DER
    assert isinstance(wrapping, rsa.RSAPublicKey)
    assert wrapping.key_size == int(wrapping_spec.split("_")[1])
    assert near(ts(p["ParametersValidTo"]), now + 24 * HOUR), (p["ParametersValidTo"], now)

    out = kms.import_key_material(
        KeyId=arn,
        ImportToken=p["ImportToken"],
        EncryptedKeyMaterial=wrap_material(p["PublicKey"], algorithm, material),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    assert out["KeyId"] == arn
    md = describe(kms, kid)
    assert md["KeyState"] == "Enabled" and md["Enabled"] is True
    assert md["Origin"] == "EXTERNAL"
    assert md["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert "ValidTo" not in md

    # The key works with the material that was imported, and only that.
    if kind == "SYMMETRIC_DEFAULT":
        assert md["CurrentKeyMaterialId"] == out["KeyMaterialId"]
        ct = kms.encrypt(KeyId=kid, Plaintext=b"byok symmetric")["CiphertextBlob"]
        dec = kms.decrypt(CiphertextBlob=ct)
        assert dec["Plaintext"] == b"byok symmetric" and dec["KeyMaterialId"] == out["KeyMaterialId"]
        dk = kms.generate_data_key(KeyId=kid, NumberOfBytes=32)
        assert dk["KeyMaterialId"] == out["KeyMaterialId"]
        assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
        # The same material in a second key does not make it the same key.
        twin = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
        import_material(kms, twin["KeyId"], material)
        expect_error("IncorrectKeyException", kms.decrypt, CiphertextBlob=ct, KeyId=twin["KeyId"])
        twin_ct = kms.encrypt(KeyId=twin["KeyId"], Plaintext=b"twin")["CiphertextBlob"]
        expect_error("IncorrectKeyException", kms.decrypt, CiphertextBlob=twin_ct, KeyId=kid)
        assert kms.decrypt(CiphertextBlob=twin_ct)["KeyId"] == twin["Arn"]
    elif kind == "HMAC_256":
        assert "CurrentKeyMaterialId" not in md
        for msg in (b"byok hmac", os.urandom(300)):
            mac = kms.generate_mac(KeyId=kid, Message=msg, MacAlgorithm="HMAC_SHA_256")["Mac"]
            assert mac == hmac.new(material, msg, hashlib.sha256).digest()
        mine = hmac.new(material, b"made here", hashlib.sha256).digest()
        assert kms.verify_mac(KeyId=kid, Message=b"made here", MacAlgorithm="HMAC_SHA_256", Mac=mine)["MacValid"]
    elif kind == "ECC_NIST_P256":
        assert "CurrentKeyMaterialId" not in md
        assert kms.get_public_key(KeyId=kid)["PublicKey"] == spki(priv)
        sig = kms.sign(KeyId=kid, Message=b"byok ecc", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        priv.public_key().verify(sig, b"byok ecc", ec.ECDSA(hashes.SHA256()))  # raises if wrong
        mine = priv.sign(b"made here", ec.ECDSA(hashes.SHA256()))
        assert kms.verify(KeyId=kid, Message=b"made here", Signature=mine, SigningAlgorithm="ECDSA_SHA_256")[
            "SignatureValid"
        ]
    else:
        assert "CurrentKeyMaterialId" not in md
        assert kms.get_public_key(KeyId=kid)["PublicKey"] == spki(priv)
        oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        ct = kms.encrypt(KeyId=kid, Plaintext=b"byok rsa", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
        assert priv.decrypt(ct, oaep) == b"byok rsa"
        mine = priv.public_key().encrypt(b"made here", oaep)
        assert kms.decrypt(KeyId=kid, CiphertextBlob=mine, EncryptionAlgorithm="RSAES_OAEP_SHA_256")[
            "Plaintext"
        ] == b"made here"


@pytest.mark.parametrize("kind", ["SYMMETRIC_DEFAULT", "ECC_NIST_P256"])
def test_reimport_same_material_only(kms, kind):
    spec, usage, material, priv = _material(kind)
    kw = {} if spec == "SYMMETRIC_DEFAULT" else {"KeySpec": spec, "KeyUsage": usage}
    k = kms.create_key(Origin="EXTERNAL", **kw)["KeyMetadata"]
    kid, arn = k["KeyId"], k["Arn"]
    first = import_material(kms, kid, material, "RSA_AES_KEY_WRAP_SHA_256")
    if kind == "SYMMETRIC_DEFAULT":
        ct = kms.encrypt(KeyId=kid, Plaintext=b"before deletion")["CiphertextBlob"]
        use = lambda: kms.decrypt(CiphertextBlob=ct)  # noqa: E731
    else:
        use = lambda: kms.sign(KeyId=kid, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")  # noqa: E731
    use()

    gone = kms.delete_imported_key_material(KeyId=kid)
    assert gone["KeyId"] == arn
    if kind == "SYMMETRIC_DEFAULT":
        assert gone["KeyMaterialId"] == first["KeyMaterialId"]
    after = describe(kms, kid)
    assert after["KeyState"] == "PendingImport"
    # Without material DescribeKey has no ExpirationModel, as on AWS (issue 21's table).
    assert "ExpirationModel" not in after
    expect_error("KMSInvalidStateException", use)

    # Different material is refused, and the key stays without material.
    other = _material(kind)[2]
    expect_error("IncorrectKeyMaterialException", import_material, kms, kid, other, "RSA_AES_KEY_WRAP_SHA_256")
    assert describe(kms, kid)["KeyState"] == "PendingImport"
    # The same material comes back: the old ciphertexts decrypt again.
    again = import_material(kms, kid, material, "RSA_AES_KEY_WRAP_SHA_256")
    if kind == "SYMMETRIC_DEFAULT":
        assert again["KeyMaterialId"] == first["KeyMaterialId"]
    assert describe(kms, kid)["KeyState"] == "Enabled"
    out = use()
    if kind == "SYMMETRIC_DEFAULT":
        assert out["Plaintext"] == b"before deletion" and out["KeyMaterialId"] == first["KeyMaterialId"]
    else:
        priv.public_key().verify(out["Signature"], b"m", ec.ECDSA(hashes.SHA256()))


def test_import_errors(kms, kms_nov, clock_kinko):
    k = kms.create_key(Origin="EXTERNAL", Description="lc byok errors")["KeyMetadata"]
    kid = k["KeyId"]
    other = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    material = os.urandom(32)

    expect_error(
        "ValidationException",
        kms.get_parameters_for_import,
        KeyId=kid,
        WrappingAlgorithm="RSAES_PKCS1_V1_5",
        WrappingKeySpec="RSA_2048",
    )

    p = params_for(kms, kid)
    wrapped = wrap_material(p["PublicKey"], "RSAES_OAEP_SHA_256", material)

    def imp(**kw):
        args = dict(KeyId=kid, ImportToken=p["ImportToken"], EncryptedKeyMaterial=wrapped)
        args.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
        args.update(kw)
        if args["ExpirationModel"] is None:
            del args["ExpirationModel"]
        return kms_nov.import_key_material(**args)

    # ExpirationModel / ValidTo.
    now = server_now(clock_kinko)
    expect_error("ValidationException", imp, ExpirationModel="KEY_MATERIAL_EXPIRES")
    expect_error("ValidationException", imp, ExpirationModel=None)  # the default is KEY_MATERIAL_EXPIRES
    expect_error("ValidationException", imp, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=at(now + 366 * DAY))
    expect_error("ValidationException", imp, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=at(now - DAY))
    expect_error("ValidationException", imp, ValidTo=at(now + DAY))  # DOES_NOT_EXPIRE takes no ValidTo
    expect_error("ValidationException", imp, ExpirationModel="SOMETIMES")

    # A token of another key, with material wrapped for that token's public key.
    po = params_for(kms, other["KeyId"])
    expect_error(
        "InvalidImportTokenException",
        imp,
        ImportToken=po["ImportToken"],
        EncryptedKeyMaterial=wrap_material(po["PublicKey"], "RSAES_OAEP_SHA_256", material),
    )
    expect_error("InvalidImportTokenException", imp, ImportToken=b"not a token")

    # Tampered wrapped material (the OAEP block; the AES key wrap part).
    bad = bytearray(wrapped)
    bad[len(bad) // 2] ^= 0x01
    expect_error("InvalidCiphertextException", imp, EncryptedKeyMaterial=bytes(bad))
    pk = params_for(kms, kid, "RSA_AES_KEY_WRAP_SHA_256")
    kwp = bytearray(wrap_material(pk["PublicKey"], "RSA_AES_KEY_WRAP_SHA_256", material))
    kwp[-3] ^= 0x80
    expect_error("InvalidCiphertextException", imp, ImportToken=pk["ImportToken"], EncryptedKeyMaterial=bytes(kwp))
    # Wrapped with another algorithm than the token's.
    expect_error(
        "InvalidCiphertextException",
        imp,
        EncryptedKeyMaterial=wrap_material(p["PublicKey"], "RSAES_OAEP_SHA_1", material),
    )

    # Material of the wrong size for the spec.
    for wrong in (os.urandom(31), os.urandom(33), os.urandom(16)):
        expect_error(
            "IncorrectKeyMaterialException",
            imp,
            EncryptedKeyMaterial=wrap_material(p["PublicKey"], "RSAES_OAEP_SHA_256", wrong),
        )
    hm = kms.create_key(Origin="EXTERNAL", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    expect_error("IncorrectKeyMaterialException", import_material, kms, hm["KeyId"], os.urandom(16))
    ek = kms.create_key(Origin="EXTERNAL", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    p384 = pkcs8(ec.generate_private_key(ec.SECP384R1()))
    expect_error("IncorrectKeyMaterialException", import_material, kms, ek["KeyId"], p384, "RSA_AES_KEY_WRAP_SHA_256")
    expect_error("IncorrectKeyMaterialException", import_material, kms, ek["KeyId"], os.urandom(32))

    # None of it imported anything.
    for key in (k, hm, ek):
        assert describe(kms, key["KeyId"])["KeyState"] == "PendingImport"

    # A token older than 24 hours.
    report = advance(clock_kinko, 25 * HOUR)
    assert report["Now"] > ts(p["ParametersValidTo"])
    expect_error("ExpiredImportTokenException", imp)
    assert describe(kms, kid)["KeyState"] == "PendingImport"
    # Fresh parameters work.
    import_material(kms, kid, material)
    assert describe(kms, kid)["KeyState"] == "Enabled"

    # Keys with generated material take no imports.
    aws = kms.create_key()["KeyMetadata"]
    for alg in ("RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_256"):
        expect_error(
            "UnsupportedOperationException",
            kms.get_parameters_for_import,
            KeyId=aws["KeyId"],
            WrappingAlgorithm=alg,
            WrappingKeySpec="RSA_2048",
        )
    expect_error("UnsupportedOperationException", kms.delete_imported_key_material, KeyId=aws["KeyId"])
    # Imported keys are not rotated automatically.
    expect_error("UnsupportedOperationException", kms.enable_key_rotation, KeyId=kid)


def test_imported_material_expires(kms, clock_kinko):
    k = kms.create_key(Origin="EXTERNAL", Description="lc byok expiry")["KeyMetadata"]
    kid, arn = k["KeyId"], k["Arn"]
    material = os.urandom(32)
    now = server_now(clock_kinko)
    valid_to = at(now + 2 * DAY)
    out = import_material(kms, kid, material, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to)
    md = describe(kms, kid)
    assert md["KeyState"] == "Enabled"
    assert md["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert ts(md["ValidTo"]) == valid_to.timestamp()
    [entry] = rotations(kms, kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert entry["KeyMaterialId"] == out["KeyMaterialId"]
    assert entry["ImportState"] == "IMPORTED" and entry["KeyMaterialState"] == "CURRENT"
    assert entry["ExpirationModel"] == "KEY_MATERIAL_EXPIRES" and ts(entry["ValidTo"]) == valid_to.timestamp()
    ct = kms.encrypt(KeyId=kid, Plaintext=b"until it expires")["CiphertextBlob"]

    report = advance(clock_kinko, DAY)
    assert arn not in report["Expired"]
    assert describe(kms, kid)["KeyState"] == "Enabled"

    report = advance(clock_kinko, 2 * DAY)
    assert report["Expired"].count(arn) == 1, report
    md = describe(kms, kid)
    assert md["KeyState"] == "PendingImport" and md["Enabled"] is False
    assert "ValidTo" not in md
    expect_error("KMSInvalidStateException", kms.encrypt, KeyId=kid, Plaintext=b"x")
    expect_error("KMSInvalidStateException", kms.decrypt, CiphertextBlob=ct)
    [entry] = rotations(kms, kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert entry["ImportState"] == "PENDING_IMPORT"
    assert arn not in advance(clock_kinko, 60)["Expired"]

    # Reimporting the same material brings the key back.
    import_material(kms, kid, material)
    md = describe(kms, kid)
    assert md["KeyState"] == "Enabled" and md["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"until it expires"


def test_new_key_material_rotates_an_imported_key(kms, clock_kinko):
    k = kms.create_key(Origin="EXTERNAL", Description="lc byok rotation")["KeyMetadata"]
    kid, arn = k["KeyId"], k["Arn"]
    a, b = os.urandom(32), os.urandom(32)
    first = import_material(kms, kid, a, KeyMaterialDescription="material A")
    id_a = first["KeyMaterialId"]
    c1 = kms.encrypt(KeyId=kid, Plaintext=b"under A")["CiphertextBlob"]
    assert kms.list_key_rotations(KeyId=kid)["Rotations"] == []
    # Nothing imported for rotation yet: AWS's KMSInvalidStateException (issue 21's table).
    e = expect_error("KMSInvalidStateException", kms.rotate_key_on_demand, KeyId=kid)
    assert e.response["Error"]["Message"] == f"No available key material pending rotation for the key: {arn}."

    second = import_material(
        kms, kid, b, "RSA_AES_KEY_WRAP_SHA_256", ImportType="NEW_KEY_MATERIAL", KeyMaterialDescription="material B"
    )
    id_b = second["KeyMaterialId"]
    assert second["KeyId"] == arn and id_b != id_a
    assert describe(kms, kid)["CurrentKeyMaterialId"] == id_a  # not current until rotated
    assert kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=kid, Plaintext=b"x")["CiphertextBlob"])["KeyMaterialId"] == id_a

    everything = {e["KeyMaterialId"]: e for e in rotations(kms, kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")}
    assert set(everything) == {id_a, id_b}
    assert everything[id_a]["KeyMaterialState"] == "CURRENT"
    assert everything[id_b]["KeyMaterialState"] == "PENDING_ROTATION"
    assert everything[id_b]["ImportState"] == "IMPORTED"
    assert everything[id_b].get("KeyMaterialDescription") == "material B"
    assert "RotationDate" not in everything[id_b] and "RotationType" not in everything[id_b]
    assert kms.list_key_rotations(KeyId=kid)["Rotations"] == []  # ROTATIONS_ONLY: nothing rotated yet

    now = server_now(clock_kinko)
    assert kms.rotate_key_on_demand(KeyId=kid)["KeyId"] == arn
    assert describe(kms, kid)["CurrentKeyMaterialId"] == id_b
    [rot] = kms.list_key_rotations(KeyId=kid)["Rotations"]
    assert rot["KeyMaterialId"] == id_b and rot["RotationType"] == "ON_DEMAND"
    assert near(ts(rot["RotationDate"]), now, 120.0)
    everything = {e["KeyMaterialId"]: e for e in rotations(kms, kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")}
    assert everything[id_a]["KeyMaterialState"] == "NON_CURRENT"
    assert everything[id_b]["KeyMaterialState"] == "CURRENT"
    assert everything[id_a].get("KeyMaterialDescription") == "material A"

    out = kms.decrypt(CiphertextBlob=c1)
    assert out["Plaintext"] == b"under A" and out["KeyMaterialId"] == id_a
    dk = kms.generate_data_key(KeyId=kid, KeySpec="AES_256")
    assert dk["KeyMaterialId"] == id_b
    out = kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])
    assert out["Plaintext"] == dk["Plaintext"] and out["KeyMaterialId"] == id_b
