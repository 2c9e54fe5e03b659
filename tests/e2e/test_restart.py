"""State survives a restart, and a restart keeps the first-start identity.  Uses its own server
instance on its own data dir (the session server is left alone)."""

from __future__ import annotations

import base64
import json

import boto3

from kinko_server import client_config, make_botocore_session, run_kinko
from kinko_helpers import expect_error


def _client(server):
    session = boto3.session.Session(botocore_session=make_botocore_session(server))
    return session.client("kms", region_name="us-east-1", endpoint_url=server.endpoint, config=client_config())


def test_state_survives_restart(tmp_path, observed_secrets):
    data_dir, log, cfg = tmp_path / "data", tmp_path / "server.log", tmp_path / "aws-config"
    cfg.write_text("")

    with run_kinko(data_dir, log, cfg) as s1:
        kms = _client(s1)
        creds_before = s1.credentials_file.read_text()
        a = kms.create_key(Description="survivor", Tags=[{"TagKey": "t", "TagValue": "v"}])["KeyMetadata"]
        b = kms.create_key()["KeyMetadata"]
        kms.create_alias(AliasName="alias/restart", TargetKeyId=a["KeyId"])
        kms.disable_key(KeyId=b["KeyId"])
        doomed = kms.create_key()["KeyMetadata"]
        sched = kms.schedule_key_deletion(KeyId=doomed["KeyId"], PendingWindowInDays=9)
        policy = json.loads(kms.get_key_policy(KeyId=a["KeyId"])["Policy"])
        policy["Id"] = "restart-policy"
        kms.put_key_policy(KeyId=a["KeyId"], Policy=json.dumps(policy))
        ct = kms.encrypt(KeyId="alias/restart", Plaintext=b"persist me", EncryptionContext={"r": "1"})[
            "CiphertextBlob"
        ]
        dk = kms.generate_data_key(KeyId=a["KeyId"], KeySpec="AES_256")
        observed_secrets.append(dk["Plaintext"])

    with run_kinko(data_dir, log, cfg) as s2:
        # First-start work is not redone: same credentials, same account.
        assert s2.credentials_file.read_text() == creds_before
        kms = _client(s2)
        md = kms.describe_key(KeyId="alias/restart")["KeyMetadata"]
        assert md["KeyId"] == a["KeyId"] and md["Arn"] == a["Arn"]
        assert md["Description"] == "survivor"
        assert md["CreationDate"] == a["CreationDate"]
        assert kms.list_resource_tags(KeyId=a["KeyId"])["Tags"] == [{"TagKey": "t", "TagValue": "v"}]
        assert json.loads(kms.get_key_policy(KeyId=a["KeyId"])["Policy"])["Id"] == "restart-policy"
        assert kms.describe_key(KeyId=b["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
        d = kms.describe_key(KeyId=doomed["KeyId"])["KeyMetadata"]
        assert d["KeyState"] == "PendingDeletion" and d["DeletionDate"] == sched["DeletionDate"]
        # Key material survived: old ciphertexts decrypt.
        assert kms.decrypt(CiphertextBlob=ct, EncryptionContext={"r": "1"})["Plaintext"] == b"persist me"
        assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
        expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=ct)
        ids = {k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]}
        assert {a["KeyId"], b["KeyId"], doomed["KeyId"]} <= ids

        # This data dir, too, must not hold the data key in any form.
        needles = (dk["Plaintext"], base64.b64encode(dk["Plaintext"]), dk["Plaintext"].hex().encode())
        for f in (p for p in data_dir.rglob("*") if p.is_file()):
            blob = f.read_bytes()
            assert not any(n in blob for n in needles), f"data key found in {f.name}"
