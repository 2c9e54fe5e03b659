"""Every regional thing belongs to the region of the request that made it (issue 21, item 2).

One installation serves many regions, as one AWS account does. A key, its aliases, its grants,
its rotations and its audit events made through one region's endpoint are invisible through
another's: listed nowhere, named by nothing (not by key id, key ARN, alias name or alias ARN)."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from audit_helpers import all_events
from kinko_helpers import expect_error, key_arn
from kinko_server import client_config, make_botocore_session

HOME, AWAY = "eu-west-1", "ap-southeast-2"


def _client(kinko, service: str, region: str):
    session = boto3.session.Session(botocore_session=make_botocore_session(kinko))
    return session.client(service, region_name=region, endpoint_url=kinko.endpoint, config=client_config())


@pytest.fixture(scope="module")
def home(kinko):
    return _client(kinko, "kms", HOME)


@pytest.fixture(scope="module")
def away(kinko):
    return _client(kinko, "kms", AWAY)


@pytest.fixture(scope="module")
def made(home, account_id):
    """A key in HOME with an alias, a grant and an on-demand rotation."""
    key = home.create_key(Description="regional")["KeyMetadata"]
    alias = f"alias/regional-{uuid.uuid4().hex[:8]}"
    home.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    grant = home.create_grant(
        KeyId=key["KeyId"],
        GranteePrincipal=f"arn:aws:iam::{account_id}:root",
        Operations=["Encrypt"],
    )
    home.rotate_key_on_demand(KeyId=key["KeyId"])
    return {"key": key, "alias": alias, "grant": grant["GrantId"]}


def _all(client, op: str, member: str, **kwargs) -> list[dict]:
    return [item for page in client.get_paginator(op).paginate(**kwargs) for item in page[member]]


def test_lists_show_only_their_own_region(home, away, made):
    key_id = made["key"]["KeyId"]
    assert key_id in {k["KeyId"] for k in _all(home, "list_keys", "Keys")}
    assert key_id not in {k["KeyId"] for k in _all(away, "list_keys", "Keys")}
    assert made["alias"] in {a["AliasName"] for a in _all(home, "list_aliases", "Aliases")}
    assert made["alias"] not in {a["AliasName"] for a in _all(away, "list_aliases", "Aliases")}


def test_the_key_is_named_by_nothing_in_another_region(away, made, account_id):
    key_id = made["key"]["KeyId"]
    alias = made["alias"]
    for name in (key_id, alias):
        expect_error("NotFoundException", away.describe_key, KeyId=name)
    for region in (HOME, AWAY):
        # A HOME ARN sent to AWAY's endpoint: refused as AWS refuses an ARN of another region.
        # An AWAY ARN of a HOME key: there is no such key in AWAY.
        expect_error("NotFoundException", away.describe_key, KeyId=key_arn(region, account_id, key_id))
    expect_error("NotFoundException", away.encrypt, KeyId=alias, Plaintext=b"x")
    expect_error("NotFoundException", away.list_grants, KeyId=key_id)
    expect_error("NotFoundException", away.list_key_rotations, KeyId=key_id)
    expect_error("NotFoundException", away.get_parameters_for_import, KeyId=key_id,
                 WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")


def test_grants_rotations_and_aliases_stay_home(home, away, made):
    key_id = made["key"]["KeyId"]
    assert made["grant"] in {g["GrantId"] for g in _all(home, "list_grants", "Grants", KeyId=key_id)}
    assert len(home.list_key_rotations(KeyId=key_id)["Rotations"]) == 1
    # The same alias name is free in AWAY, and names AWAY's own key there.
    other = away.create_key(Description="away")["KeyMetadata"]
    away.create_alias(AliasName=made["alias"], TargetKeyId=other["KeyId"])
    assert away.describe_key(KeyId=made["alias"])["KeyMetadata"]["KeyId"] == other["KeyId"]
    assert home.describe_key(KeyId=made["alias"])["KeyMetadata"]["KeyId"] == key_id
    # Revoking HOME's grant from AWAY finds no key.
    expect_error("NotFoundException", away.revoke_grant, KeyId=key_id, GrantId=made["grant"])
    assert made["grant"] in {g["GrantId"] for g in _all(home, "list_grants", "Grants", KeyId=key_id)}


def _region(event: dict) -> str:
    return json.loads(event["CloudTrailEvent"])["awsRegion"]


def test_lookup_events_are_regional(kinko, made, away):
    def lookup(region: str, key_id: str) -> list[dict]:
        attrs = [{"AttributeKey": "ResourceName", "AttributeValue": key_id}]
        return all_events(_client(kinko, "cloudtrail", region), LookupAttributes=attrs)

    home_key = made["key"]["KeyId"]
    home_events = lookup(HOME, home_key)
    assert {"CreateKey", "CreateAlias", "CreateGrant", "RotateKeyOnDemand"} <= {e["EventName"] for e in home_events}
    assert {_region(e) for e in home_events} == {HOME}
    # AWAY's trail holds none of HOME's events, and its own.
    assert lookup(AWAY, home_key) == []
    away_key = away.create_key(Description="away trail")["KeyMetadata"]["KeyId"]
    away_events = lookup(AWAY, away_key)
    assert [e["EventName"] for e in away_events] == ["CreateKey"]
    assert {_region(e) for e in away_events} == {AWAY}
    assert lookup(HOME, away_key) == []
