"""AWS CLI v1 (awscli 1.46.3) against the server.  Each CLI call costs ~0.5 s, so
these tests are few and each does several things."""

from __future__ import annotations

import base64
import os
import time
import uuid

from kinko_helpers import UUID_V4_RE, random_key_id

REGION = "us-east-1"


def test_cli_key_alias_listing(aws_cli):
    rc, out, _ = aws_cli("create-key", "--description", "cli e2e key", "--tags", "TagKey=via,TagValue=cli")
    md = out["KeyMetadata"]
    assert UUID_V4_RE.match(md["KeyId"])
    assert md["Arn"].startswith(f"arn:aws:kms:{REGION}:") and md["Arn"].endswith(md["KeyId"])
    assert md["Description"] == "cli e2e key"
    assert md["KeyState"] == "Enabled"
    # CLI v1 (cli_timestamp_format=none) prints the wire value: an epoch number (reference §1.2).
    assert isinstance(md["CreationDate"], (int, float)) and not isinstance(md["CreationDate"], bool)
    assert abs(md["CreationDate"] - time.time()) < 600

    alias = f"alias/cli-{uuid.uuid4().hex[:10]}"
    rc, out, _ = aws_cli("create-alias", "--alias-name", alias, "--target-key-id", md["KeyId"])
    assert rc == 0 and out is None  # empty output

    # list-keys auto-paginates; a small page size forces several requests (Truncated/NextMarker).
    rc, out, _ = aws_cli("list-keys", "--page-size", "3")
    ids = [k["KeyId"] for k in out["Keys"]]
    assert md["KeyId"] in ids
    assert len(ids) == len(set(ids))
    assert "NextMarker" not in out

    rc, out, _ = aws_cli("list-aliases", "--key-id", md["KeyId"])
    assert [(a["AliasName"], a["TargetKeyId"]) for a in out["Aliases"]] == [(alias, md["KeyId"])]
    assert out["Aliases"][0]["AliasArn"] == md["Arn"].split(":key/")[0] + ":" + alias


def test_cli_encrypt_decrypt_fileb_round_trip(aws_cli, kms, key, tmp_path, observed_secrets):
    plaintext = os.urandom(200) + b"\x00\xff binary \n\r"
    observed_secrets.append(plaintext)
    pt_file = tmp_path / "pt.bin"
    pt_file.write_bytes(plaintext)

    rc, out, _ = aws_cli(
        "encrypt",
        "--key-id",
        key["Arn"],
        "--plaintext",
        f"fileb://{pt_file}",
        "--encryption-context",
        "app=cli,stage=test",
    )
    assert out["KeyId"] == key["Arn"]
    assert out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    blob = base64.b64decode(out["CiphertextBlob"], validate=True)

    ct_file = tmp_path / "ct.bin"
    ct_file.write_bytes(blob)
    rc, out, _ = aws_cli(
        "decrypt", "--ciphertext-blob", f"fileb://{ct_file}", "--encryption-context", "stage=test,app=cli"
    )
    assert base64.b64decode(out["Plaintext"]) == plaintext
    assert out["KeyId"] == key["Arn"]
    # The CLI-produced blob is an ordinary KMS ciphertext for boto3 too.
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "cli", "stage": "test"})["Plaintext"] == plaintext


def test_cli_generate_data_key(aws_cli, kms, key, observed_secrets):
    rc, out, _ = aws_cli("generate-data-key", "--key-id", key["KeyId"], "--key-spec", "AES_256")
    dk = base64.b64decode(out["Plaintext"], validate=True)
    observed_secrets.append(dk)
    assert len(dk) == 32
    assert out["KeyId"] == key["Arn"]
    blob = base64.b64decode(out["CiphertextBlob"], validate=True)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == dk


def test_cli_error_exit_code_and_type(aws_cli):
    missing = random_key_id()
    rc, out, err = aws_cli("describe-key", "--key-id", missing, check=False)
    # CLI v1 exits 255 on a service error and prints "An error occurred (<__type>) when calling ...".
    assert rc == 255, (rc, err)
    assert "(NotFoundException)" in err, err
    assert "DescribeKey" in err, err
    assert out is None
