"""Key lifecycle through the AWS CLI v1 (awscli 1.46.3): rotation settings, on-demand and automatic
rotation, scheduled deletion, and importing symmetric key material from `fileb://` files. Uses a
server of its own with the test clock (see test_lifecycle.py, whose launcher and clock helpers it
shares). Each CLI call costs ~1 s, so the tests are few and each does several things; boto3 only
moves the clock and makes a few cross-checks."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import pathlib
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kinko_helpers import unique_alias
from test_lifecycle import DAY, HOUR, advance, clear_aws_env, kms_client, near, run_clock_kinko, server_now, wrap_material

REGION = "us-east-1"
# The venv's own `aws` (awscli pinned in requirements.txt). Not resolve()d: a venv's python is a
# symlink to the base interpreter, whose bin/ may hold another awscli or none.
VENV_BIN = pathlib.Path(sys.executable).parent


@pytest.fixture(scope="module")
def cli_kinko(tmp_path_factory):
    clear_aws_env()
    base = tmp_path_factory.mktemp("lifecycle-cli")
    config_file = base / "aws-config"
    config_file.write_text("")
    with run_clock_kinko(base / "data", base / "server.log", config_file) as server:
        yield server


@pytest.fixture(scope="module")
def kms(cli_kinko):
    return kms_client(cli_kinko)


@pytest.fixture(scope="module")
def cli(cli_kinko):
    """Run `aws kms ...` against the module's server: (returncode, parsed JSON or None, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(cli_kinko.credentials_file),
        AWS_CONFIG_FILE=str(cli_kinko.config_file),
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
    )

    def _run(*args: str, check: bool = True):
        cmd = [str(VENV_BIN / "aws"), "--endpoint-url", cli_kinko.endpoint, "--output", "json", "kms", *args]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} -> rc={p.returncode}\nstderr: {p.stderr}\nstdout: {p.stdout}")
        return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else None), p.stderr

    return _run


def cli_error(cli, code: str, operation: str, *args: str) -> str:
    rc, out, err = cli(*args, check=False)
    # CLI v1: exit 255 on a service error, "An error occurred (<code>) when calling the <Op> operation".
    assert rc == 255, (rc, out, err)
    assert f"({code})" in err and operation in err, err
    assert out is None
    return err


def epoch(value) -> float:
    # CLI v1 prints timestamps as the wire's epoch seconds (cli_timestamp_format=none).
    assert isinstance(value, (int, float)) and not isinstance(value, bool), value
    return float(value)


def test_cli_rotation(cli, cli_kinko):
    rc, out, _ = cli("create-key", "--description", "lc cli rotation")
    kid, arn = out["KeyMetadata"]["KeyId"], out["KeyMetadata"]["Arn"]
    original = out["KeyMetadata"]["CurrentKeyMaterialId"]

    rc, out, _ = cli("enable-key-rotation", "--key-id", kid, "--rotation-period-in-days", "120")
    assert rc == 0 and out is None
    now = server_now(cli_kinko)
    rc, status, _ = cli("get-key-rotation-status", "--key-id", arn)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 120
    assert near(epoch(status["NextRotationDate"]), now + 120 * DAY), (status, now)

    rc, out, _ = cli("rotate-key-on-demand", "--key-id", kid)
    assert out["KeyId"] in (kid, arn)
    rc, out, _ = cli("describe-key", "--key-id", kid)
    on_demand = out["KeyMetadata"]["CurrentKeyMaterialId"]
    assert on_demand != original
    rc, out, _ = cli("list-key-rotations", "--key-id", kid)
    assert [(r["KeyMaterialId"], r["RotationType"]) for r in out["Rotations"]] == [(on_demand, "ON_DEMAND")]

    report = advance(cli_kinko, 121 * DAY)
    assert arn in report["Rotated"]
    # The CLI paginates by itself: one entry per request here.
    rc, out, _ = cli("list-key-rotations", "--key-id", kid, "--page-size", "1")
    assert sorted(r["RotationType"] for r in out["Rotations"]) == ["AUTOMATIC", "ON_DEMAND"]
    assert "NextMarker" not in out and "NextToken" not in out
    automatic = next(r for r in out["Rotations"] if r["RotationType"] == "AUTOMATIC")
    assert near(epoch(automatic["RotationDate"]), report["Now"], 60.0)
    rc, out, _ = cli("list-key-rotations", "--key-id", kid, "--include-key-material", "ALL_KEY_MATERIAL")
    assert {r["KeyMaterialId"] for r in out["Rotations"]} == {original, on_demand, automatic["KeyMaterialId"]}
    rc, status, _ = cli("get-key-rotation-status", "--key-id", kid)
    assert near(epoch(status["NextRotationDate"]), report["Now"] + 120 * DAY), (status, report["Now"])

    rc, out, _ = cli("disable-key-rotation", "--key-id", kid)
    assert rc == 0 and out is None
    rc, status, _ = cli("get-key-rotation-status", "--key-id", kid)
    assert status["KeyRotationEnabled"] is False and "NextRotationDate" not in status

    rc, out, _ = cli("create-key", "--key-spec", "HMAC_256", "--key-usage", "GENERATE_VERIFY_MAC")
    cli_error(cli, "UnsupportedOperationException", "EnableKeyRotation", "enable-key-rotation", "--key-id", out["KeyMetadata"]["KeyId"])


def test_cli_scheduled_deletion(cli, kms, cli_kinko):
    rc, out, _ = cli("create-key", "--description", "lc cli doomed")
    kid, arn = out["KeyMetadata"]["KeyId"], out["KeyMetadata"]["Arn"]
    alias = unique_alias("lc-cli-doomed")
    cli("create-alias", "--alias-name", alias, "--target-key-id", kid)

    now = server_now(cli_kinko)
    rc, out, _ = cli("schedule-key-deletion", "--key-id", kid, "--pending-window-in-days", "7")
    assert out["KeyId"] == arn and out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7
    assert near(epoch(out["DeletionDate"]), now + 7 * DAY), (out, now)

    report = advance(cli_kinko, 8 * DAY)
    assert report["Deleted"].count(arn) == 1, report
    err = cli_error(cli, "NotFoundException", "DescribeKey", "describe-key", "--key-id", kid)
    assert kid in err
    cli_error(cli, "NotFoundException", "DescribeKey", "describe-key", "--key-id", alias)
    rc, out, _ = cli("list-aliases")
    assert alias not in {a["AliasName"] for a in out["Aliases"]}


def test_cli_import_key_material(cli, kms, cli_kinko, tmp_path):
    rc, out, _ = cli("create-key", "--origin", "EXTERNAL", "--description", "lc cli byok")
    md = out["KeyMetadata"]
    kid, arn = md["KeyId"], md["Arn"]
    assert md["Origin"] == "EXTERNAL" and md["KeyState"] == "PendingImport"
    material = os.urandom(32)

    def params(algorithm: str):
        rc, p, _ = cli(
            "get-parameters-for-import",
            "--key-id", kid,
            "--wrapping-algorithm", algorithm,
            "--wrapping-key-spec", "RSA_2048",
        )  # fmt: skip
        assert p["KeyId"] == arn
        public = base64.b64decode(p["PublicKey"], validate=True)
        wrapping = serialization.load_der_public_key(public)
        assert isinstance(wrapping, rsa.RSAPublicKey) and wrapping.key_size == 2048
        token_file = tmp_path / f"token-{algorithm}.bin"
        token_file.write_bytes(base64.b64decode(p["ImportToken"], validate=True))
        return p, public, token_file

    now = server_now(cli_kinko)
    p, public, token_file = params("RSAES_OAEP_SHA_256")
    assert near(epoch(p["ParametersValidTo"]), now + 24 * HOUR), (p["ParametersValidTo"], now)
    wrapped_file = tmp_path / "material.bin"
    wrapped_file.write_bytes(wrap_material(public, "RSAES_OAEP_SHA_256", material))

    valid_to = dt.datetime.fromtimestamp(int(now + 30 * DAY), tz=dt.timezone.utc)
    rc, out, _ = cli(
        "import-key-material",
        "--key-id", kid,
        "--import-token", f"fileb://{token_file}",
        "--encrypted-key-material", f"fileb://{wrapped_file}",
        "--expiration-model", "KEY_MATERIAL_EXPIRES",
        "--valid-to", valid_to.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )  # fmt: skip
    assert out["KeyId"] == arn
    material_id = out["KeyMaterialId"]
    rc, out, _ = cli("describe-key", "--key-id", kid)
    md = out["KeyMetadata"]
    assert md["KeyState"] == "Enabled" and md["Enabled"] is True
    assert md["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert epoch(md["ValidTo"]) == valid_to.timestamp()
    assert md["CurrentKeyMaterialId"] == material_id

    pt_file = tmp_path / "pt.bin"
    pt_file.write_bytes(b"imported through the CLI")
    rc, out, _ = cli("encrypt", "--key-id", kid, "--plaintext", f"fileb://{pt_file}")
    ct_file = tmp_path / "ct.bin"
    ct_file.write_bytes(base64.b64decode(out["CiphertextBlob"], validate=True))
    dec = kms.decrypt(CiphertextBlob=ct_file.read_bytes())
    assert dec["Plaintext"] == b"imported through the CLI" and dec["KeyMaterialId"] == material_id

    rc, out, _ = cli("delete-imported-key-material", "--key-id", kid)
    assert out["KeyId"] == arn and out["KeyMaterialId"] == material_id
    rc, out, _ = cli("describe-key", "--key-id", kid)
    assert out["KeyMetadata"]["KeyState"] == "PendingImport" and "ValidTo" not in out["KeyMetadata"]
    cli_error(cli, "KMSInvalidStateException", "Encrypt", "encrypt", "--key-id", kid, "--plaintext", f"fileb://{pt_file}")

    # Different material is refused; the same material, wrapped with RSA_AES_KEY_WRAP, comes back.
    p, public, token_file = params("RSA_AES_KEY_WRAP_SHA_256")
    wrapped_file.write_bytes(wrap_material(public, "RSA_AES_KEY_WRAP_SHA_256", os.urandom(32)))
    cli_error(
        cli,
        "IncorrectKeyMaterialException",
        "ImportKeyMaterial",
        "import-key-material",
        "--key-id", kid,
        "--import-token", f"fileb://{token_file}",
        "--encrypted-key-material", f"fileb://{wrapped_file}",
        "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE",
    )  # fmt: skip
    wrapped_file.write_bytes(wrap_material(public, "RSA_AES_KEY_WRAP_SHA_256", material))
    rc, out, _ = cli(
        "import-key-material",
        "--key-id", kid,
        "--import-token", f"fileb://{token_file}",
        "--encrypted-key-material", f"fileb://{wrapped_file}",
        "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE",
    )  # fmt: skip
    assert out["KeyMaterialId"] == material_id
    rc, out, _ = cli("decrypt", "--ciphertext-blob", f"fileb://{ct_file}")
    assert base64.b64decode(out["Plaintext"]) == b"imported through the CLI"
    assert out["KeyId"] == arn and out["KeyMaterialId"] == material_id
    rc, out, _ = cli("list-key-rotations", "--key-id", kid, "--include-key-material", "ALL_KEY_MATERIAL")
    [entry] = out["Rotations"]
    assert entry["KeyMaterialId"] == material_id
    assert entry["ImportState"] == "IMPORTED" and entry["KeyMaterialState"] == "CURRENT"
    assert entry["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE" and "ValidTo" not in entry
