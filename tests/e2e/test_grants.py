"""Grants with boto3 1.44.8 and the AWS CLI v1: CreateGrant, ListGrants (paging, filters),
ListRetirableGrants, RetireGrant, RevokeGrant, Name idempotence, constraints, and the audit
record of CreateGrant.  Whether a grant *allows* anything is authorization's business and not
asserted here."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from audit_helpers import find_by_request_id, make_client, record
from kinko_helpers import assert_recent, expect_error, random_key_id

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def cloudtrail(kinko):
    return make_client(kinko, "cloudtrail")


def by_event(name: str) -> list[dict]:
    return [{"AttributeKey": "EventName", "AttributeValue": name}]


def user(account_id: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:user/{name}"


def test_create_list_retire_revoke(kms, new_key, account_id):
    md = new_key(Description="grants e2e")
    alice = user(account_id, "alice")
    root = f"arn:aws:iam::{account_id}:root"
    created = kms.create_grant(
        KeyId=md["KeyId"],
        GranteePrincipal=alice,
        RetiringPrincipal=root,
        Operations=["Encrypt", "Decrypt", "GenerateDataKey"],
        Constraints={"EncryptionContextEquals": {"app": "e2e"}},
        Name="e2e-grant",
    )
    assert HEX64.match(created["GrantId"])
    assert 1 <= len(created["GrantToken"]) <= 8192

    grants = kms.list_grants(KeyId=md["KeyId"])
    assert grants["Truncated"] is False and "NextMarker" not in grants
    [entry] = grants["Grants"]
    assert entry["KeyId"] == md["Arn"]
    assert entry["GrantId"] == created["GrantId"]
    assert entry["Name"] == "e2e-grant"
    assert entry["GranteePrincipal"] == alice
    assert entry["RetiringPrincipal"] == root
    assert entry["IssuingAccount"] == root
    assert entry["Operations"] == ["Encrypt", "Decrypt", "GenerateDataKey"]
    assert entry["Constraints"] == {"EncryptionContextEquals": {"app": "e2e"}}
    assert isinstance(entry["CreationDate"], dt.datetime)
    assert_recent(entry["CreationDate"])

    # The token goes wherever GrantTokens do.
    kms.encrypt(
        KeyId=md["KeyId"], Plaintext=b"x", EncryptionContext={"app": "e2e"}, GrantTokens=[created["GrantToken"]]
    )

    retirable = kms.list_retirable_grants(RetiringPrincipal=root)
    assert created["GrantId"] in [g["GrantId"] for g in retirable["Grants"]]

    kms.retire_grant(GrantToken=created["GrantToken"])
    assert kms.list_grants(KeyId=md["KeyId"])["Grants"] == []

    second = kms.create_grant(KeyId=md["Arn"], GranteePrincipal=alice, Operations=["DescribeKey"])
    third = kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=alice, Operations=["ReEncryptFrom"])
    kms.retire_grant(KeyId=md["Arn"], GrantId=second["GrantId"])
    kms.revoke_grant(KeyId=md["KeyId"], GrantId=third["GrantId"])
    assert kms.list_grants(KeyId=md["KeyId"])["Grants"] == []

    expect_error("NotFoundException", kms.revoke_grant, KeyId=md["KeyId"], GrantId=third["GrantId"])
    expect_error("NotFoundException", kms.retire_grant, GrantToken=created["GrantToken"])
    expect_error("InvalidGrantIdException", kms.revoke_grant, KeyId=md["KeyId"], GrantId="not-a-grant-id")
    expect_error("InvalidGrantTokenException", kms.retire_grant, GrantToken="not-a-token")
    expect_error("NotFoundException", kms.list_grants, KeyId=random_key_id())


def test_name_makes_create_grant_idempotent(kms, key, account_id):
    params = dict(
        KeyId=key["KeyId"],
        GranteePrincipal=user(account_id, "idem"),
        Operations=["Decrypt"],
        Name="idempotent-e2e",
    )
    first = kms.create_grant(**params)
    again = kms.create_grant(**params)
    assert again["GrantId"] == first["GrantId"]
    # AWS: a fresh token with every call, even for the same grant.
    assert again["GrantToken"] != first["GrantToken"]
    other = kms.create_grant(**{**params, "Operations": ["Decrypt", "Encrypt"]})
    assert other["GrantId"] != first["GrantId"]
    mine = [g for g in kms.list_grants(KeyId=key["KeyId"], GranteePrincipal=params["GranteePrincipal"])["Grants"]]
    assert sorted(g["GrantId"] for g in mine) == sorted([first["GrantId"], other["GrantId"]])
    for g in mine:
        kms.revoke_grant(KeyId=key["KeyId"], GrantId=g["GrantId"])


def test_paging_with_limit(kms, new_key, account_id):
    md = new_key(Description="grants paging")
    ids = sorted(
        kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=user(account_id, f"p{n}"), Operations=["Encrypt"])[
            "GrantId"
        ]
        for n in range(5)
    )
    page = kms.list_grants(KeyId=md["KeyId"], Limit=2)
    assert page["Truncated"] is True and page["NextMarker"]
    assert len(page["Grants"]) == 2
    seen = [g["GrantId"] for g in page["Grants"]]
    while page["Truncated"]:
        page = kms.list_grants(KeyId=md["KeyId"], Limit=2, Marker=page["NextMarker"])
        seen += [g["GrantId"] for g in page["Grants"]]
    assert seen == ids
    paginated = [
        g["GrantId"]
        for p in kms.get_paginator("list_grants").paginate(KeyId=md["KeyId"], PaginationConfig={"PageSize": 2})
        for g in p["Grants"]
    ]
    assert paginated == ids
    one = kms.list_grants(KeyId=md["KeyId"], GrantId=ids[3])["Grants"]
    assert [g["GrantId"] for g in one] == [ids[3]]
    expect_error("InvalidMarkerException", kms.list_grants, KeyId=md["KeyId"], Marker="bogus")


def test_create_grant_errors(kms, kms_nov, key, new_key, account_id):
    grantee = user(account_id, "err")
    expect_error("ValidationException", kms.create_grant, KeyId=key["KeyId"], GranteePrincipal=grantee, Operations=["Sign"])
    expect_error(
        "ValidationException",
        kms.create_grant,
        KeyId=key["KeyId"],
        GranteePrincipal=grantee,
        Operations=["DescribeKey"],
        Constraints={"EncryptionContextSubset": {"a": "b"}},
    )
    expect_error("InvalidArnException", kms.create_grant, KeyId=key["KeyId"], GranteePrincipal="bob", Operations=["Encrypt"])
    expect_error(
        "ValidationException", kms_nov.create_grant, KeyId=key["KeyId"], GranteePrincipal=grantee, Operations=["Nope"]
    )
    disabled = new_key(Description="grants disabled")
    kms.disable_key(KeyId=disabled["KeyId"])
    expect_error("DisabledException", kms.create_grant, KeyId=disabled["KeyId"], GranteePrincipal=grantee, Operations=["Encrypt"])
    assert kms.list_grants(KeyId=disabled["KeyId"])["Grants"] == []
    expect_error("NotFoundException", kms.create_grant, KeyId=random_key_id(), GranteePrincipal=grantee, Operations=["Encrypt"])


def test_create_grant_record_has_the_grant_id_and_no_token(kms, key, account_id, cloudtrail):
    created = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=user(account_id, "audited"), Operations=["Encrypt"])
    request_id = created["ResponseMetadata"]["RequestId"]
    event = record(find_by_request_id(cloudtrail, request_id, LookupAttributes=by_event("CreateGrant")))
    assert event["eventName"] == "CreateGrant"
    assert event["readOnly"] is False
    assert event["responseElements"] == {"grantId": created["GrantId"]}
    assert event["resources"][0]["ARN"] == key["Arn"]
    retired = kms.retire_grant(GrantToken=created["GrantToken"])
    event = record(
        find_by_request_id(cloudtrail, retired["ResponseMetadata"]["RequestId"], LookupAttributes=by_event("RetireGrant"))
    )
    assert created["GrantToken"] not in json.dumps(event)
    assert "grantToken" not in event.get("requestParameters", {})


def test_cli_create_and_list_grants(aws_cli, account_id):
    _, out, _ = aws_cli("create-key", "--description", "grants cli")
    key_id = out["KeyMetadata"]["KeyId"]
    grantee = user(account_id, "cli")
    _, out, _ = aws_cli(
        "create-grant",
        "--key-id", key_id,
        "--grantee-principal", grantee,
        "--operations", "Encrypt", "Decrypt",
        "--constraints", "EncryptionContextSubset={k=v}",
        "--name", "cli-grant",
    )  # fmt: skip
    grant_id = out["GrantId"]
    assert HEX64.match(grant_id) and out["GrantToken"]
    _, out, _ = aws_cli("list-grants", "--key-id", key_id)
    [entry] = out["Grants"]
    assert entry["GrantId"] == grant_id
    assert entry["GranteePrincipal"] == grantee
    assert entry["Operations"] == ["Encrypt", "Decrypt"]
    assert entry["Constraints"] == {"EncryptionContextSubset": {"k": "v"}}
    assert entry["Name"] == "cli-grant"
    assert isinstance(entry["CreationDate"], (int, float))
    rc, out, _ = aws_cli("revoke-grant", "--key-id", key_id, "--grant-id", grant_id)
    assert rc == 0 and out is None
    _, out, _ = aws_cli("list-grants", "--key-id", key_id)
    assert out["Grants"] == []
