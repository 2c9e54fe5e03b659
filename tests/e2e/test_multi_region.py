"""Multi-Region keys through boto3 (issue 21, item 4).

One installation serves every region; a multi-Region key (`mrk-` id) created in us-east-1 is
replicated to us-west-2 with ReplicateKey. Both regions' keys share the id and the key material,
so a ciphertext made in one region decrypts in the other; each has its own policy, description,
tags and state. UpdatePrimaryRegion swaps the roles; rotation is driven by the primary."""

from __future__ import annotations

import json
import re

import pytest

from kinko_helpers import expect_error, unique_alias

EAST = "us-east-1"
WEST = "us-west-2"
CENTRAL = "eu-central-1"


@pytest.fixture(scope="module")
def west(make_client):
    return make_client(WEST)


@pytest.fixture(scope="module")
def central(make_client):
    return make_client(CENTRAL)


def mrk(kms, **kwargs):
    return kms.create_key(MultiRegion=True, **kwargs)["KeyMetadata"]


def config(client, key_id):
    md = client.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["MultiRegion"] is True
    return md, md["MultiRegionConfiguration"]


def test_create_multi_region_key(kms):
    md = mrk(kms, Description="primary")
    assert re.fullmatch(r"mrk-[0-9a-f]{32}", md["KeyId"]), md["KeyId"]
    assert md["Arn"].endswith(f":key/{md['KeyId']}") and f":{EAST}:" in md["Arn"]
    assert md["MultiRegion"] is True
    cfg = md["MultiRegionConfiguration"]
    assert cfg["MultiRegionKeyType"] == "PRIMARY"
    assert cfg["PrimaryKey"] == {"Arn": md["Arn"], "Region": EAST}
    assert cfg["ReplicaKeys"] == []
    # A single-Region key says so and carries no configuration.
    single = kms.create_key()["KeyMetadata"]
    assert single["MultiRegion"] is False
    assert "MultiRegionConfiguration" not in single


def test_replicate_encrypt_in_one_region_decrypt_in_the_other(kms, west):
    md = mrk(kms, Description="primary")
    key_id = md["KeyId"]
    out = kms.replicate_key(
        KeyId=key_id,
        ReplicaRegion=WEST,
        Description="the west replica",
        Tags=[{"TagKey": "side", "TagValue": "west"}],
    )
    replica = out["ReplicaKeyMetadata"]
    assert replica["KeyId"] == key_id
    assert replica["Arn"] == md["Arn"].replace(EAST, WEST)
    assert replica["Description"] == "the west replica"
    assert replica["KeyState"] == "Enabled"
    assert replica["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert out["ReplicaTags"] == [{"TagKey": "side", "TagValue": "west"}]
    assert json.loads(out["ReplicaPolicy"])["Statement"]

    secret = b"multi-Region plaintext"
    blob = kms.encrypt(KeyId=key_id, Plaintext=secret, EncryptionContext={"a": "b"})[
        "CiphertextBlob"
    ]
    back = west.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})
    assert back["Plaintext"] == secret
    assert back["KeyId"] == replica["Arn"]
    blob_west = west.encrypt(KeyId=key_id, Plaintext=secret)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob_west, KeyId=key_id)["Plaintext"] == secret
    # A data key made in the west opens in the east.
    dk = west.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]

    # Both sides describe the same configuration.
    _, east_cfg = config(kms, key_id)
    west_md, west_cfg = config(west, key_id)
    assert east_cfg["MultiRegionKeyType"] == "PRIMARY"
    assert west_cfg["MultiRegionKeyType"] == "REPLICA"
    for cfg in (east_cfg, west_cfg):
        assert cfg["PrimaryKey"] == {"Arn": md["Arn"], "Region": EAST}
        assert cfg["ReplicaKeys"] == [{"Arn": replica["Arn"], "Region": WEST}]
    # Properties that are not shared: description, tags, state.
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "primary"
    assert west_md["Description"] == "the west replica"
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == []
    assert west.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "side", "TagValue": "west"}]
    west.disable_key(KeyId=key_id)
    assert west.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    expect_error("DisabledException", west.decrypt, CiphertextBlob=blob)
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == secret
    west.enable_key(KeyId=key_id)
    # Aliases are per region; the same name may point at each region's key.
    alias = unique_alias("mrk")
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    west.create_alias(AliasName=alias, TargetKeyId=key_id)
    assert west.encrypt(KeyId=alias, Plaintext=b"x")["KeyId"] == replica["Arn"]
    # ListKeys of each region lists its own key.
    assert key_id in [k["KeyId"] for k in west.list_keys(Limit=1000)["Keys"]]


def test_replication_rules(kms, west, central):
    md = mrk(kms)
    key_id = md["KeyId"]
    kms.replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    # Not twice into one region, not into the primary's own region.
    expect_error("AlreadyExistsException", kms.replicate_key, KeyId=key_id, ReplicaRegion=WEST)
    expect_error("ValidationException", kms.replicate_key, KeyId=key_id, ReplicaRegion=EAST)
    # A replica cannot be replicated.
    expect_error(
        "UnsupportedOperationException", west.replicate_key, KeyId=key_id, ReplicaRegion=CENTRAL
    )
    # A single-Region key cannot be replicated.
    single = kms.create_key()["KeyMetadata"]["KeyId"]
    expect_error(
        "UnsupportedOperationException", kms.replicate_key, KeyId=single, ReplicaRegion=WEST
    )
    # A malformed region is a validation error; nothing was created.
    expect_error("ValidationException", kms.replicate_key, KeyId=key_id, ReplicaRegion="nowhere")
    expect_error("NotFoundException", central.describe_key, KeyId=key_id)
    # Rotation is managed on the primary: a replica refuses it.
    expect_error("UnsupportedOperationException", west.enable_key_rotation, KeyId=key_id)
    expect_error("UnsupportedOperationException", west.rotate_key_on_demand, KeyId=key_id)
    # A primary with replicas cannot be scheduled for deletion; the replica can.
    expect_error(
        "UnsupportedOperationException",
        kms.schedule_key_deletion,
        KeyId=key_id,
        PendingWindowInDays=7,
    )
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    west.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert west.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    # While it waits, the region still has a replica.
    expect_error("AlreadyExistsException", kms.replicate_key, KeyId=key_id, ReplicaRegion=WEST)
    # EXTERNAL multi-Region keys are refused (a documented difference).
    expect_error(
        "UnsupportedOperationException", kms.create_key, MultiRegion=True, Origin="EXTERNAL"
    )


def test_update_primary_region(kms, west):
    md = mrk(kms)
    key_id = md["KeyId"]
    replica_arn = kms.replicate_key(KeyId=key_id, ReplicaRegion=WEST)["ReplicaKeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"before the swap")["CiphertextBlob"]
    # Only the primary may hand over its role, and only to a region that has a replica.
    expect_error(
        "UnsupportedOperationException", west.update_primary_region, KeyId=key_id, PrimaryRegion=WEST
    )
    expect_error(
        "NotFoundException", kms.update_primary_region, KeyId=key_id, PrimaryRegion="eu-west-3"
    )
    kms.update_primary_region(KeyId=key_id, PrimaryRegion=WEST)
    _, east_cfg = config(kms, key_id)
    _, west_cfg = config(west, key_id)
    assert east_cfg["MultiRegionKeyType"] == "REPLICA"
    assert west_cfg["MultiRegionKeyType"] == "PRIMARY"
    for cfg in (east_cfg, west_cfg):
        assert cfg["PrimaryKey"] == {"Arn": replica_arn, "Region": WEST}
        assert cfg["ReplicaKeys"] == [{"Arn": md["Arn"], "Region": EAST}]
    # The material did not change: the old ciphertext still opens on both sides.
    assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before the swap"
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before the swap"
    # Now the east is the replica: it refuses rotation, the west accepts it.
    expect_error("UnsupportedOperationException", kms.enable_key_rotation, KeyId=key_id)
    west.enable_key_rotation(KeyId=key_id)
    assert west.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True


def test_rotation_from_the_primary_reaches_every_replica(kms, west):
    key_id = mrk(kms)["KeyId"]
    kms.replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    old = kms.encrypt(KeyId=key_id, Plaintext=b"old material")["CiphertextBlob"]
    kms.rotate_key_on_demand(KeyId=key_id)
    east_rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    west_rotations = west.list_key_rotations(KeyId=key_id)["Rotations"]
    assert len(east_rotations) == 1
    assert [r["KeyMaterialId"] for r in west_rotations] == [
        r["KeyMaterialId"] for r in east_rotations
    ]
    east_md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    west_md = west.describe_key(KeyId=key_id)["KeyMetadata"]
    assert east_md["CurrentKeyMaterialId"] == west_md["CurrentKeyMaterialId"]
    assert east_md["CurrentKeyMaterialId"] == east_rotations[0]["KeyMaterialId"]
    # New ciphertexts of either region use the new material and open in the other.
    new = west.encrypt(KeyId=key_id, Plaintext=b"new material")
    assert kms.decrypt(CiphertextBlob=new["CiphertextBlob"])["Plaintext"] == b"new material"
    assert kms.decrypt(CiphertextBlob=new["CiphertextBlob"])["KeyMaterialId"] == (
        east_md["CurrentKeyMaterialId"]
    )
    # Old ciphertexts still open in both regions.
    assert west.decrypt(CiphertextBlob=old)["Plaintext"] == b"old material"
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"old material"
