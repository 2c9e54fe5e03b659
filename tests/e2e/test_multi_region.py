"""Multi-Region keys through boto3 (issue 21, item 4).

One installation serves every region; a multi-Region key (`mrk-` id) created in us-east-1 is
replicated to us-west-2 with ReplicateKey. Both regions' keys share the id and the key material,
so a ciphertext made in one region decrypts in the other; each has its own policy, description,
tags and state. UpdatePrimaryRegion swaps the roles; rotation is driven by the primary."""

from __future__ import annotations

import json
import re

import boto3
import pytest

from kinko_helpers import expect_error, unique_alias
from kinko_server import client_config, make_botocore_session
from test_lifecycle import DAY, advance, clear_aws_env, run_clock_kinko

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
    # A primary with replicas waits for them: PendingReplicaDeletion, with no deletion date yet.
    out = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=9)
    assert out["KeyState"] == "PendingReplicaDeletion"
    assert out["PendingWindowInDays"] == 9
    assert "DeletionDate" not in out
    primary_md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert primary_md["KeyState"] == "PendingReplicaDeletion"
    assert primary_md["PendingDeletionWindowInDays"] == 9
    assert "DeletionDate" not in primary_md
    expect_error("KMSInvalidStateException", kms.encrypt, KeyId=key_id, Plaintext=b"x")
    expect_error(
        "KMSInvalidStateException", kms.schedule_key_deletion, KeyId=key_id, PendingWindowInDays=7
    )
    # The replica is still usable, and the primary can be cancelled (it comes back Disabled).
    west.encrypt(KeyId=key_id, Plaintext=b"x")
    kms.cancel_key_deletion(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=key_id)
    west.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert west.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    # While it waits, the region still has a replica.
    expect_error("AlreadyExistsException", kms.replicate_key, KeyId=key_id, ReplicaRegion=WEST)
    # A primary pending deletion is not replicated.
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    expect_error("KMSInvalidStateException", kms.replicate_key, KeyId=key_id, ReplicaRegion=CENTRAL)
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
    west.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=120)
    # Automatic rotation is shared: the replica reports the primary's setting.
    for client in (west, kms):
        status = client.get_key_rotation_status(KeyId=key_id)
        assert status["KeyRotationEnabled"] is True
        assert status["RotationPeriodInDays"] == 120
    west.disable_key_rotation(KeyId=key_id)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False


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


def test_automatic_rotation_of_the_primary_reaches_every_replica(tmp_path):
    """The scheduler rotates the primary when its automatic rotation is due; the replica gets the
    same new material in the same pass (a server of its own, with the test clock)."""
    clear_aws_env()
    config_file = tmp_path / "aws-config"
    config_file.write_text("")
    with run_clock_kinko(tmp_path / "data", tmp_path / "server.log", config_file) as server:

        def client(region):
            session = boto3.session.Session(botocore_session=make_botocore_session(server))
            return session.client(
                "kms", region_name=region, endpoint_url=server.endpoint, config=client_config()
            )

        east, west = client(EAST), client(WEST)
        md = mrk(east)
        key_id = md["KeyId"]
        east.replicate_key(KeyId=key_id, ReplicaRegion=WEST)
        east.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
        old = west.encrypt(KeyId=key_id, Plaintext=b"before")["CiphertextBlob"]
        report = advance(server, 91 * DAY)
        assert report["Rotated"] == [md["Arn"]], report
        east_current = east.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
        west_current = west.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
        assert east_current == west_current != md["CurrentKeyMaterialId"]
        rotations = west.list_key_rotations(KeyId=key_id)["Rotations"]
        assert [(r["KeyMaterialId"], r["RotationType"]) for r in rotations] == [
            (east_current, "AUTOMATIC")
        ]
        assert east.decrypt(CiphertextBlob=old)["Plaintext"] == b"before"
        new = east.encrypt(KeyId=key_id, Plaintext=b"after")["CiphertextBlob"]
        assert west.decrypt(CiphertextBlob=new)["KeyMaterialId"] == east_current


def test_a_primary_waits_for_its_replicas_deletion(tmp_path):
    """ScheduleKeyDeletion of a primary with a replica: PendingReplicaDeletion until the replica is
    deleted; then the primary's own waiting period begins, and the primary is deleted after it."""
    clear_aws_env()
    config_file = tmp_path / "aws-config"
    config_file.write_text("")
    with run_clock_kinko(tmp_path / "data", tmp_path / "server.log", config_file) as server:

        def client(region):
            session = boto3.session.Session(botocore_session=make_botocore_session(server))
            return session.client(
                "kms", region_name=region, endpoint_url=server.endpoint, config=client_config()
            )

        east, west = client(EAST), client(WEST)
        md = mrk(east)
        key_id = md["KeyId"]
        replica_arn = east.replicate_key(KeyId=key_id, ReplicaRegion=WEST)["ReplicaKeyMetadata"][
            "Arn"
        ]
        east.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=10)
        west.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        report = advance(server, 8 * DAY)
        assert report["Deleted"] == [replica_arn], report
        expect_error("NotFoundException", west.describe_key, KeyId=key_id)
        primary = east.describe_key(KeyId=key_id)["KeyMetadata"]
        assert primary["KeyState"] == "PendingDeletion"
        assert primary["MultiRegionConfiguration"]["ReplicaKeys"] == []
        # Its own ten days count from the replica's deletion.
        waited = primary["DeletionDate"].timestamp() - report["Now"]
        assert abs(waited - 10 * DAY) < 120, waited
        assert advance(server, 9 * DAY)["Deleted"] == []
        assert advance(server, 2 * DAY)["Deleted"] == [md["Arn"]]
        expect_error("NotFoundException", east.describe_key, KeyId=key_id)


def test_condition_keys_of_multi_region_keys(kms, west, central, account_id):
    """kms:ReplicaRegion (ReplicateKey), kms:PrimaryRegion (UpdatePrimaryRegion) and
    kms:MultiRegionKeyType reach the key policy's conditions."""
    key_id = mrk(kms)["KeyId"]
    root = f"arn:aws:iam::{account_id}:root"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Principal": {"AWS": root},
                "Action": "kms:ReplicateKey",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ReplicaRegion": CENTRAL}},
            },
            {
                "Effect": "Deny",
                "Principal": {"AWS": root},
                "Action": "kms:UpdatePrimaryRegion",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:PrimaryRegion": CENTRAL}},
            },
            {
                "Effect": "Deny",
                "Principal": {"AWS": root},
                "Action": "kms:DisableKey",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:MultiRegionKeyType": "PRIMARY"}},
            },
        ],
    }
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))
    expect_error("AccessDeniedException", kms.replicate_key, KeyId=key_id, ReplicaRegion=CENTRAL)
    expect_error("NotFoundException", central.describe_key, KeyId=key_id)
    kms.replicate_key(KeyId=key_id, ReplicaRegion=WEST, Policy=json.dumps(policy))
    expect_error(
        "AccessDeniedException", kms.update_primary_region, KeyId=key_id, PrimaryRegion=CENTRAL
    )
    # The primary may not be disabled under this policy; the replica (same policy) may.
    expect_error("AccessDeniedException", kms.disable_key, KeyId=key_id)
    west.disable_key(KeyId=key_id)
    assert west.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


def test_grants_belong_to_one_regions_key(kms, west, account_id):
    """A grant on the replica is the replica's: listed and retired in its region only."""
    key_id = mrk(kms)["KeyId"]
    kms.replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    grantee = f"arn:aws:iam::{account_id}:root"
    grant = west.create_grant(KeyId=key_id, GranteePrincipal=grantee, Operations=["Encrypt"])
    assert [g["GrantId"] for g in west.list_grants(KeyId=key_id)["Grants"]] == [grant["GrantId"]]
    assert kms.list_grants(KeyId=key_id)["Grants"] == []
    west.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=[grant["GrantToken"]])
    expect_error(
        "NotFoundException", kms.revoke_grant, KeyId=key_id, GrantId=grant["GrantId"]
    )
    west.retire_grant(GrantToken=grant["GrantToken"])
    assert west.list_grants(KeyId=key_id)["Grants"] == []


def test_asymmetric_and_hmac_multi_region_keys(kms, west):
    """Signing and MAC keys share their material too: sign or MAC in one region, verify in the
    other, and the public key is the same on both sides."""
    sign_id = mrk(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyId"]
    kms.replicate_key(KeyId=sign_id, ReplicaRegion=WEST)
    assert (
        kms.get_public_key(KeyId=sign_id)["PublicKey"]
        == west.get_public_key(KeyId=sign_id)["PublicKey"]
    )
    signature = kms.sign(
        KeyId=sign_id, Message=b"signed in the east", SigningAlgorithm="ECDSA_SHA_256"
    )["Signature"]
    assert west.verify(
        KeyId=sign_id,
        Message=b"signed in the east",
        Signature=signature,
        SigningAlgorithm="ECDSA_SHA_256",
    )["SignatureValid"]

    mac_id = mrk(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyId"]
    kms.replicate_key(KeyId=mac_id, ReplicaRegion=WEST)
    mac = west.generate_mac(KeyId=mac_id, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert kms.verify_mac(KeyId=mac_id, Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256")[
        "MacValid"
    ]


def test_replicate_key_needs_create_key_permission(kinko, kms, account_id):
    """ReplicateKey needs kms:ReplicateKey on the primary and kms:CreateKey (an identity policy),
    as on AWS; kms:MultiRegion in a CreateKey condition tells the two kinds of key apart."""
    from authz_helpers import World, identity_statement, policy

    world = World(kinko, kms, account_id)
    only_replicate = world.user(
        policy(identity_statement("Allow", ["kms:ReplicateKey", "kms:DescribeKey"]))
    )
    both = world.user(
        policy(identity_statement("Allow", ["kms:ReplicateKey", "kms:DescribeKey", "kms:CreateKey"]))
    )
    key_id = mrk(kms)["KeyId"]
    expect_error(
        "AccessDeniedException", only_replicate.kms.replicate_key, KeyId=key_id, ReplicaRegion=WEST
    )
    both.kms.replicate_key(KeyId=key_id, ReplicaRegion=WEST)
    # A user allowed to create multi-Region keys only.
    mrk_only = world.user(
        policy(
            identity_statement(
                "Allow", "kms:CreateKey", condition={"Bool": {"kms:MultiRegion": "true"}}
            )
        )
    )
    assert mrk_only.kms.create_key(MultiRegion=True)["KeyMetadata"]["MultiRegion"] is True
    expect_error("AccessDeniedException", mrk_only.kms.create_key)
