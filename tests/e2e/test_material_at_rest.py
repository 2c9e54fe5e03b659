"""No plaintext a client obtained or sent may be stored in the data directory.

Runs last (see conftest.pytest_collection_modifyitems), with the server still running, so
it sees the SQLite database, its -wal and -shm files and anything else the server wrote
for the whole session.  The key material itself is not observable by a client; what a
client can check is that the data keys it was handed and the plaintexts it sent never
reach the disk (in raw, base64 or hex form).
"""

from __future__ import annotations

import base64
import os
import pathlib

import pytest


def _encodings(secret: bytes):
    b64 = base64.b64encode(secret)
    yield "raw", secret
    yield "base64", b64
    yield "base64-unpadded", b64.rstrip(b"=")
    yield "base64url", base64.urlsafe_b64encode(secret).rstrip(b"=")
    yield "hex", secret.hex().encode()
    yield "HEX", secret.hex().upper().encode()


def _files(root: pathlib.Path):
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def fresh_secrets(kms, observed_secrets):
    """Make sure there is something to look for even if this module runs alone."""
    keys = [kms.create_key(Description=f"at-rest {i}")["KeyMetadata"] for i in range(3)]
    found = []
    for k in keys:
        for spec in ("AES_256", "AES_128"):
            r = kms.generate_data_key(KeyId=k["KeyId"], KeySpec=spec, EncryptionContext={"scan": "me"})
            found.append(r["Plaintext"])
        r = kms.generate_data_key(KeyId=k["Arn"], NumberOfBytes=64)
        found.append(r["Plaintext"])
        message = b"KINKO-AT-REST-MARKER-" + os.urandom(24).hex().encode()
        ct = kms.encrypt(KeyId=k["KeyId"], Plaintext=message)["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == message
        found.append(message)
        # ReEncrypt keeps the plaintext inside the server; it must not be written either.
        kms.re_encrypt(CiphertextBlob=ct, DestinationKeyId=keys[0]["KeyId"])
    observed_secrets.extend(found)
    return found


def _scan(paths, secrets):
    hits = []
    for p in paths:
        data = p.read_bytes()
        for s in secrets:
            for enc_name, needle in _encodings(s):
                if needle in data:
                    hits.append(f"{p.name}: {enc_name} of a {len(s)}-byte secret")
    return hits


def test_no_plaintext_in_data_dir(kinko, fresh_secrets, observed_secrets):
    secrets = list(dict.fromkeys(s for s in observed_secrets if len(s) >= 16))
    assert len(secrets) >= len(fresh_secrets)
    files = _files(kinko.data_dir)
    assert files, "data dir is empty?"
    # The scan is only meaningful if the server's store is actually in there.
    assert any(p.name != "credentials" and p.stat().st_size > 0 for p in files), [p.name for p in files]
    hits = _scan(files, secrets)
    assert not hits, "plaintext found at rest:\n" + "\n".join(hits[:20])


def test_no_plaintext_in_server_log(kinko, fresh_secrets, observed_secrets):
    secrets = list(dict.fromkeys(s for s in observed_secrets if len(s) >= 16))
    hits = _scan([kinko.log_file], secrets)
    assert not hits, "plaintext found in the server log:\n" + "\n".join(hits[:20])


def test_credentials_file_mode(kinko):
    # Written by the server on first start: owner-only.
    mode = kinko.credentials_file.stat().st_mode & 0o777
    assert mode == 0o600, oct(mode)
    text = kinko.credentials_file.read_text()
    assert "[default]" in text and "aws_access_key_id" in text and "aws_secret_access_key" in text
