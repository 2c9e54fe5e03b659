"""Two services with their own credentials, each isolated from the other's keys by key policy:
what issue #4 promises, driven with boto3 the way two services would use Kinko."""

from __future__ import annotations

import json

import pytest

from authz_helpers import World, identity_statement, outcome, policy, statement
from kinko_helpers import expect_error

USE = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"]


@pytest.fixture(scope="module")
def world(kinko, kms, account_id):
    return World(kinko, kms, account_id)


@pytest.fixture(scope="module")
def services(world):
    """Service A and service B: an IAM user each, a key each whose policy lets the account's
    administrators manage it and only that service use it."""
    out = {}
    for name in ("a", "b"):
        svc = world.user(prefix=f"svc-{name}")
        key_policy = policy(
            statement("Allow", {"AWS": world.root_arn()}, "kms:*", sid="Administrators"),
            statement("Allow", {"AWS": svc.arn}, USE, sid=f"Service {name} uses its key"),
        )
        md = world.admin_kms.create_key(
            Description=f"service {name}", Policy=json.dumps(policy_without_root_crypto(key_policy, world))
        )["KeyMetadata"]
        out[name] = (svc, md["KeyId"], md["Arn"])
    return out


def policy_without_root_crypto(doc: dict, world: World) -> dict:
    """The administrators statement limited to administration, so that only the service can use
    the key (the account's root delegation would otherwise let any user with an identity policy
    in)."""
    admin = [
        "kms:Describe*", "kms:Put*", "kms:Get*", "kms:List*", "kms:Create*", "kms:Enable*",
        "kms:Disable*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
        "kms:CancelKeyDeletion", "kms:RevokeGrant",
    ]
    doc["Statement"][0]["Action"] = admin
    return doc


def test_each_service_uses_its_own_key(services):
    for name in ("a", "b"):
        svc, key_id, key_arn = services[name]
        blob = svc.kms.encrypt(KeyId=key_id, Plaintext=f"data of {name}".encode())["CiphertextBlob"]
        assert svc.kms.decrypt(CiphertextBlob=blob)["Plaintext"] == f"data of {name}".encode()
        dk = svc.kms.generate_data_key(KeyId=key_arn, KeySpec="AES_256", EncryptionContext={"svc": name})
        back = svc.kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"svc": name})
        assert back["Plaintext"] == dk["Plaintext"]


def test_a_service_cannot_touch_the_other_services_key(services):
    a, key_a, arn_a = services["a"]
    b, key_b, arn_b = services["b"]
    secret_of_b = b.kms.encrypt(KeyId=key_b, Plaintext=b"payroll")["CiphertextBlob"]
    envelope_of_b = b.kms.generate_data_key(KeyId=key_b, KeySpec="AES_256")["CiphertextBlob"]

    for blob in (secret_of_b, envelope_of_b):
        err = expect_error("AccessDeniedException", a.kms.decrypt, CiphertextBlob=blob)
        message = err.response["Error"]["Message"]
        assert message == (
            f"User: {a.arn} is not authorized to perform: kms:Decrypt on resource: {arn_b} "
            "because no resource-based policy allows the kms:Decrypt action"
        ), message
        # Naming the key, or moving the data under its own key, does not help.
        expect_error("AccessDeniedException", a.kms.decrypt, CiphertextBlob=blob, KeyId=arn_b)
        expect_error("AccessDeniedException", a.kms.re_encrypt, CiphertextBlob=blob, DestinationKeyId=key_a)
    expect_error("AccessDeniedException", a.kms.encrypt, KeyId=key_b, Plaintext=b"x")
    expect_error("AccessDeniedException", a.kms.generate_data_key, KeyId=arn_b, KeySpec="AES_256")
    expect_error("AccessDeniedException", a.kms.describe_key, KeyId=key_b)
    # Nor can it give itself access: no key policy change, no grant, no key of its own.
    takeover = policy(statement("Allow", {"AWS": a.arn}, "kms:*"))
    expect_error("AccessDeniedException", a.kms.put_key_policy, KeyId=key_b, Policy=json.dumps(takeover))
    expect_error("AccessDeniedException", a.kms.create_grant, KeyId=key_b, GranteePrincipal=a.arn, Operations=["Decrypt"])
    expect_error("AccessDeniedException", a.kms.list_keys)
    # B still reads its data: nothing A tried changed anything.
    assert b.kms.decrypt(CiphertextBlob=secret_of_b)["Plaintext"] == b"payroll"


def test_an_identity_policy_alone_does_not_open_the_other_key(world, services):
    """Even an IAM policy granting kms:* on everything does not let A into B's key, because
    B's key policy does not delegate cryptography to the account."""
    a, _, _ = services["a"]
    _, key_b, _ = services["b"]
    world.iam.put_user_policy(
        UserName=a.name, PolicyName="everything", PolicyDocument=json.dumps(policy(identity_statement("Allow", "kms:*")))
    )
    try:
        decision, message = outcome(a.kms.encrypt, KeyId=key_b, Plaintext=b"x")
        assert decision == "deny", message
        assert "because no resource-based policy allows the kms:Encrypt action" in message
        # The identity policy does let A list keys now: that is account-level.
        a.kms.list_keys()
    finally:
        world.iam.delete_user_policy(UserName=a.name, PolicyName="everything")


def test_the_trail_shows_who_was_refused(world, services, kinko):
    a, _, _ = services["a"]
    _, key_b, arn_b = services["b"]
    expect_error("AccessDeniedException", a.kms.encrypt, KeyId=key_b, Plaintext=b"probe")
    events = world.client("cloudtrail", None).lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": a.name}], MaxResults=50
    )["Events"]
    denied = [json.loads(e["CloudTrailEvent"]) for e in events if e["EventName"] == "Encrypt"]
    assert denied, events
    record = denied[0]
    assert record["errorCode"] == "AccessDeniedException", record
    assert record["userIdentity"]["arn"] == a.arn
    assert arn_b in record["errorMessage"], record


def test_reading_the_trail_needs_cloudtrail_permission(world, services):
    a, _, _ = services["a"]
    trail = a.client("cloudtrail")
    expect_error("AccessDeniedException", trail.lookup_events, MaxResults=1)
    world.iam.put_user_policy(
        UserName=a.name,
        PolicyName="trail-reader",
        PolicyDocument=json.dumps(policy(identity_statement("Allow", "cloudtrail:LookupEvents"))),
    )
    try:
        assert "Events" in trail.lookup_events(MaxResults=1)
    finally:
        world.iam.delete_user_policy(UserName=a.name, PolicyName="trail-reader")
