"""Key lifecycle, aliases, tags and key policies through boto3 (reference §2, §4, §5, §9)."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest

from kinko_helpers import (
    ACCOUNT_RE,
    UUID_V4_RE,
    alias_arn,
    assert_recent,
    expect_error,
    key_arn,
    now_utc,
    random_key_id,
    unique_alias,
)

REGION = "us-east-1"


# --------------------------------------------------------------------------- CreateKey


def _assert_symmetric_metadata(md, *, description="", state="Enabled"):
    """The KeyMetadata fields boto3 users index (reference §9, §10.12)."""
    assert UUID_V4_RE.match(md["KeyId"]), md["KeyId"]
    assert ACCOUNT_RE.match(md["AWSAccountId"]), md["AWSAccountId"]
    assert md["Arn"] == key_arn(REGION, md["AWSAccountId"], md["KeyId"])
    assert md["KeyState"] == state
    assert md["Enabled"] is (state == "Enabled")
    assert_recent(md["CreationDate"], slack_s=600)
    assert md["KeyManager"] == "CUSTOMER"
    assert md["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert md["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert md["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert md["Origin"] == "AWS_KMS"
    assert md["MultiRegion"] is False
    assert md["Description"] == description
    assert md["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    # Only the algorithm family that fits the usage is listed (§3).
    for absent in ("SigningAlgorithms", "MacAlgorithms", "KeyAgreementAlgorithms", "EncapsulationAlgorithms"):
        assert absent not in md, f"{absent} must be absent for an ENCRYPT_DECRYPT key"
    # ValidTo / ExpirationModel only for EXTERNAL origin; no custom key store.
    for absent in ("ValidTo", "ExpirationModel", "CustomKeyStoreId", "CloudHsmClusterId", "MultiRegionConfiguration"):
        assert absent not in md, f"{absent} must be absent"
    if state != "PendingDeletion":
        assert "DeletionDate" not in md
    if "CurrentKeyMaterialId" in md:
        assert re.fullmatch(r"[0-9a-f]{64}", md["CurrentKeyMaterialId"]), md["CurrentKeyMaterialId"]


def test_create_key_defaults_full_metadata(kms):
    md = kms.create_key()["KeyMetadata"]
    _assert_symmetric_metadata(md, description="")
    # DescribeKey returns the same metadata
    d = kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    _assert_symmetric_metadata(d, description="")
    assert d["Arn"] == md["Arn"]
    assert d["CreationDate"] == md["CreationDate"]


def test_create_key_ids_are_unique(kms):
    a = kms.create_key()["KeyMetadata"]["KeyId"]
    b = kms.create_key()["KeyMetadata"]["KeyId"]
    assert a != b


def test_create_key_with_description(kms):
    md = kms.create_key(Description="hello e2e ünïcode ✓")["KeyMetadata"]
    _assert_symmetric_metadata(md, description="hello e2e ünïcode ✓")
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["Description"] == "hello e2e ünïcode ✓"


def test_create_key_description_limits(kms):
    md = kms.create_key(Description="d" * 8192)["KeyMetadata"]
    assert len(md["Description"]) == 8192
    expect_error("ValidationException", kms.create_key, Description="d" * 8193)


def test_create_key_with_tags(kms):
    tags = [{"TagKey": "team", "TagValue": "e2e"}, {"TagKey": "empty", "TagValue": ""}]
    md = kms.create_key(Tags=tags)["KeyMetadata"]
    got = kms.list_resource_tags(KeyId=md["KeyId"])["Tags"]
    assert sorted(got, key=lambda t: t["TagKey"]) == sorted(tags, key=lambda t: t["TagKey"])


def test_create_key_with_reserved_tag_prefix_rejected(kms):
    expect_error("TagException", kms.create_key, Tags=[{"TagKey": "aws:owner", "TagValue": "x"}])


def test_create_key_explicit_usage_and_spec(kms):
    md = kms.create_key(KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]
    _assert_symmetric_metadata(md)


def test_create_key_deprecated_customer_master_key_spec(kms):
    md = kms.create_key(CustomerMasterKeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]
    _assert_symmetric_metadata(md)


def test_create_key_conflicting_keyspec_and_cmk_spec(kms):
    # [infer] reference §9: both given with different values -> ValidationException.
    expect_error(
        "ValidationException",
        kms.create_key,
        KeySpec="SYMMETRIC_DEFAULT",
        CustomerMasterKeySpec="HMAC_256",
        KeyUsage="ENCRYPT_DECRYPT",
    )


def test_create_key_bad_enum_values(kms):
    # botocore does not validate enums; the server must (§1.1).
    expect_error("ValidationException", kms.create_key, KeySpec="AES_999")
    expect_error("ValidationException", kms.create_key, KeyUsage="FLY_TO_MOON")


def test_create_key_usage_incompatible_with_spec(kms):
    # SYMMETRIC_DEFAULT only allows ENCRYPT_DECRYPT (§3).
    expect_error("ValidationException", kms.create_key, KeySpec="SYMMETRIC_DEFAULT", KeyUsage="SIGN_VERIFY")


def test_create_key_china_only_spec_is_a_client_error(kms):
    # SM2 exists only in AWS's China Regions: a 4xx naming it, never a 5xx, and no key.
    e = expect_error("UnsupportedOperationException", kms.create_key, KeySpec="SM2", KeyUsage="SIGN_VERIFY")
    assert "SM2" in e.response["Error"]["Message"], e.response["Error"]["Message"]


# --------------------------------------------------------------------------- DescribeKey


def test_describe_key_by_all_identifier_forms(kms, key, account_id):
    alias = unique_alias()
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    try:
        for ident in (key["KeyId"], key["Arn"], alias, alias_arn(REGION, account_id, alias)):
            md = kms.describe_key(KeyId=ident)["KeyMetadata"]
            assert md["KeyId"] == key["KeyId"], ident
            assert md["Arn"] == key["Arn"], ident
    finally:
        kms.delete_alias(AliasName=alias)


def test_describe_key_not_found(kms, account_id):
    expect_error("NotFoundException", kms.describe_key, KeyId=random_key_id())
    expect_error("NotFoundException", kms.describe_key, KeyId=key_arn(REGION, account_id, random_key_id()))
    expect_error("NotFoundException", kms.describe_key, KeyId=unique_alias("missing"))
    expect_error("NotFoundException", kms.describe_key, KeyId=alias_arn(REGION, account_id, unique_alias("missing")))


def test_describe_key_id_too_long(kms):
    # KeyIdType is 1..2048 characters.
    expect_error("ValidationException", kms.describe_key, KeyId="k" * 2049)


# --------------------------------------------------------------------------- ListKeys


def test_list_keys_limit_and_manual_pagination(kms):
    created = {kms.create_key(Description=f"list {i}")["KeyMetadata"]["KeyId"] for i in range(5)}
    seen = []
    marker = None
    pages = 0
    while True:
        kw = {"Limit": 2}
        if marker:
            kw["Marker"] = marker
        page = kms.list_keys(**kw)
        pages += 1
        assert len(page["Keys"]) <= 2
        for k in page["Keys"]:
            assert set(k) == {"KeyId", "KeyArn"}, k
            assert k["KeyArn"].endswith(":key/" + k["KeyId"])
            assert k["KeyArn"].startswith(f"arn:aws:kms:{REGION}:")
        seen.extend(k["KeyId"] for k in page["Keys"])
        # Truncated must accompany NextMarker, else botocore's paginator stops (§10.4).
        if page["Truncated"]:
            assert page.get("NextMarker"), "Truncated=true without NextMarker"
            assert page["NextMarker"] != marker, "same marker twice"
            marker = page["NextMarker"]
        else:
            assert "NextMarker" not in page
            break
        assert pages < 10_000
    assert pages >= 3
    assert len(seen) == len(set(seen)), "a key appeared on two pages"
    assert created <= set(seen)


def test_list_keys_paginator(kms):
    created = {kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(4)}
    pages = list(kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 3}))
    assert len(pages) >= 2
    ids = [k["KeyId"] for p in pages for k in p["Keys"]]
    assert len(ids) == len(set(ids))
    assert created <= set(ids)
    # Without a limit everything fits in one default page (default 100) or pages cleanly
    full = [k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]]
    assert set(full) == set(ids)


def test_list_keys_limit_out_of_range(kms_nov):
    expect_error("ValidationException", kms_nov.list_keys, Limit=0)
    expect_error("ValidationException", kms_nov.list_keys, Limit=1001)


def test_list_keys_invalid_marker(kms):
    expect_error("InvalidMarkerException", kms.list_keys, Marker="definitely-not-a-marker-" + uuid.uuid4().hex)


# --------------------------------------------------------------------------- Enable / Disable


def test_disable_enable_key(kms, new_key):
    md = new_key()
    ct = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"before disable")["CiphertextBlob"]

    assert kms.disable_key(KeyId=md["KeyId"])["ResponseMetadata"]["HTTPStatusCode"] == 200
    d = kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert d["KeyState"] == "Disabled" and d["Enabled"] is False

    expect_error("DisabledException", kms.encrypt, KeyId=md["KeyId"], Plaintext=b"x")
    expect_error("DisabledException", kms.decrypt, CiphertextBlob=ct)
    expect_error("DisabledException", kms.generate_data_key, KeyId=md["KeyId"], KeySpec="AES_256")
    expect_error("DisabledException", kms.generate_data_key_without_plaintext, KeyId=md["KeyId"], KeySpec="AES_256")
    # Disabling twice is fine (state table: DisableKey ok in Disabled)
    kms.disable_key(KeyId=md["KeyId"])

    kms.enable_key(KeyId=md["KeyId"])
    d = kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert d["KeyState"] == "Enabled" and d["Enabled"] is True
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"before disable"


def test_disable_key_by_arn(kms, new_key):
    md = new_key()
    kms.disable_key(KeyId=md["Arn"])
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=md["Arn"])
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


def test_management_op_with_alias_is_not_found(kms, new_key):
    # [?] reference §5: an alias in an ID/ARN-only operation; suggested NotFoundException.
    md = new_key()
    alias = unique_alias()
    kms.create_alias(AliasName=alias, TargetKeyId=md["KeyId"])
    expect_error("NotFoundException", kms.disable_key, KeyId=alias)
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    kms.delete_alias(AliasName=alias)


def test_enable_disable_unknown_key(kms):
    expect_error("NotFoundException", kms.enable_key, KeyId=random_key_id())
    expect_error("NotFoundException", kms.disable_key, KeyId=random_key_id())


# --------------------------------------------------------------------------- UpdateKeyDescription


def test_update_key_description(kms, new_key):
    md = new_key(Description="old")
    kms.update_key_description(KeyId=md["KeyId"], Description="new description")
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["Description"] == "new description"
    kms.update_key_description(KeyId=md["Arn"], Description="")
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["Description"] == ""
    expect_error("ValidationException", kms.update_key_description, KeyId=md["KeyId"], Description="x" * 8193)
    expect_error("NotFoundException", kms.update_key_description, KeyId=random_key_id(), Description="x")


# --------------------------------------------------------------------------- deletion


def _assert_deletion_date(deletion_date, days):
    assert isinstance(deletion_date, dt.datetime)
    expected = now_utc() + dt.timedelta(days=days)
    # AWS may round the date up; allow up to one extra day, never earlier than the window.
    delta = (deletion_date - expected).total_seconds()
    assert -300 <= delta <= 86400 + 300, f"DeletionDate {deletion_date} vs now+{days}d ({expected})"


def test_schedule_key_deletion_default_window(kms, new_key):
    md = new_key()
    r = kms.schedule_key_deletion(KeyId=md["KeyId"])
    assert r["KeyId"] == md["Arn"]
    assert r["KeyState"] == "PendingDeletion"
    assert r["PendingWindowInDays"] == 30
    _assert_deletion_date(r["DeletionDate"], 30)

    d = kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert d["KeyState"] == "PendingDeletion"
    assert d["Enabled"] is False
    assert d["DeletionDate"] == r["DeletionDate"]
    # PendingDeletionWindowInDays is only for PendingReplicaDeletion (model docs, reference §9).
    assert "PendingDeletionWindowInDays" not in d
    kms.cancel_key_deletion(KeyId=md["KeyId"])


@pytest.mark.parametrize("days", [7, 30])
def test_schedule_key_deletion_window_bounds_accepted(kms, new_key, days):
    md = new_key()
    r = kms.schedule_key_deletion(KeyId=md["Arn"], PendingWindowInDays=days)
    assert r["PendingWindowInDays"] == days
    _assert_deletion_date(r["DeletionDate"], days)
    kms.cancel_key_deletion(KeyId=md["KeyId"])


@pytest.mark.parametrize("days", [1, 6, 31, 365])
def test_schedule_key_deletion_window_out_of_range(kms, new_key, days):
    # The model allows 1..365 but KMS enforces 7..30 (reference §5).
    md = new_key()
    expect_error("ValidationException", kms.schedule_key_deletion, KeyId=md["KeyId"], PendingWindowInDays=days)
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


def test_pending_deletion_state_rules(kms, new_key):
    md = new_key()
    ct = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"pending")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)

    # Crypto on PendingDeletion -> KMSInvalidStateException (§4, §10.13; "Dp/S": we follow the suggestion S).
    expect_error("KMSInvalidStateException", kms.encrypt, KeyId=md["KeyId"], Plaintext=b"x")
    expect_error("KMSInvalidStateException", kms.decrypt, CiphertextBlob=ct)
    expect_error("KMSInvalidStateException", kms.generate_data_key, KeyId=md["KeyId"], KeySpec="AES_256")
    # State-table "S" entries
    expect_error("KMSInvalidStateException", kms.enable_key, KeyId=md["KeyId"])
    expect_error("KMSInvalidStateException", kms.disable_key, KeyId=md["KeyId"])
    expect_error("KMSInvalidStateException", kms.schedule_key_deletion, KeyId=md["KeyId"], PendingWindowInDays=7)
    expect_error("KMSInvalidStateException", kms.update_key_description, KeyId=md["KeyId"], Description="x")
    expect_error("KMSInvalidStateException", kms.create_alias, AliasName=unique_alias(), TargetKeyId=md["KeyId"])
    expect_error(
        "KMSInvalidStateException", kms.tag_resource, KeyId=md["KeyId"], Tags=[{"TagKey": "a", "TagValue": "b"}]
    )
    # Read-only ops still work
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.get_key_policy(KeyId=md["KeyId"], PolicyName="default")
    kms.list_resource_tags(KeyId=md["KeyId"])
    assert md["KeyId"] in {k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]}

    # CancelKeyDeletion -> Disabled (not Enabled!)
    r = kms.cancel_key_deletion(KeyId=md["KeyId"])
    assert r["KeyId"] == md["Arn"]
    d = kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert d["KeyState"] == "Disabled"
    assert d["Enabled"] is False
    assert "DeletionDate" not in d
    expect_error("DisabledException", kms.decrypt, CiphertextBlob=ct)
    kms.enable_key(KeyId=md["KeyId"])
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"pending"


def test_cancel_key_deletion_when_not_pending(kms, new_key):
    md = new_key()
    expect_error("KMSInvalidStateException", kms.cancel_key_deletion, KeyId=md["KeyId"])
    kms.disable_key(KeyId=md["KeyId"])
    expect_error("KMSInvalidStateException", kms.cancel_key_deletion, KeyId=md["KeyId"])


def test_schedule_deletion_of_disabled_key_then_cancel(kms, new_key):
    md = new_key()
    kms.disable_key(KeyId=md["KeyId"])
    r = kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=10)
    assert r["KeyState"] == "PendingDeletion"
    kms.cancel_key_deletion(KeyId=md["Arn"])
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"


def test_schedule_key_deletion_unknown_key(kms):
    expect_error("NotFoundException", kms.schedule_key_deletion, KeyId=random_key_id(), PendingWindowInDays=7)
    expect_error("NotFoundException", kms.cancel_key_deletion, KeyId=random_key_id())


# --------------------------------------------------------------------------- aliases


def _aliases_of(kms, key_id):
    return [a for p in kms.get_paginator("list_aliases").paginate(KeyId=key_id) for a in p["Aliases"]]


def test_alias_create_list_update_delete(kms, new_key, account_id):
    k1, k2 = new_key(), new_key()
    alias = unique_alias()
    kms.create_alias(AliasName=alias, TargetKeyId=k1["KeyId"])

    entries = _aliases_of(kms, k1["KeyId"])
    assert [e["AliasName"] for e in entries] == [alias]
    e = entries[0]
    assert e["AliasArn"] == alias_arn(REGION, account_id, alias)
    assert e["TargetKeyId"] == k1["KeyId"]  # bare key id, not the ARN
    assert_recent(e["CreationDate"])
    # ListAliases by key ARN works too
    assert [a["AliasName"] for a in _aliases_of(kms, k1["Arn"])] == [alias]
    # ... and the unfiltered list contains it
    all_aliases = [a for p in kms.get_paginator("list_aliases").paginate() for a in p["Aliases"]]
    assert alias in {a["AliasName"] for a in all_aliases}

    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == k1["KeyId"]
    kms.update_alias(AliasName=alias, TargetKeyId=k2["Arn"])
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == k2["KeyId"]
    assert _aliases_of(kms, k1["KeyId"]) == []
    e2 = _aliases_of(kms, k2["KeyId"])[0]
    assert e2["TargetKeyId"] == k2["KeyId"]
    if "LastUpdatedDate" in e2:
        assert e2["LastUpdatedDate"] >= e2["CreationDate"]

    kms.delete_alias(AliasName=alias)
    expect_error("NotFoundException", kms.describe_key, KeyId=alias)
    expect_error("NotFoundException", kms.delete_alias, AliasName=alias)
    assert _aliases_of(kms, k2["KeyId"]) == []


def test_alias_usable_in_crypto(kms, key, account_id):
    alias = unique_alias()
    kms.create_alias(AliasName=alias, TargetKeyId=key["Arn"])
    try:
        for ident in (alias, alias_arn(REGION, account_id, alias)):
            r = kms.encrypt(KeyId=ident, Plaintext=b"via alias")
            assert r["KeyId"] == key["Arn"]
            d = kms.decrypt(CiphertextBlob=r["CiphertextBlob"], KeyId=ident)
            assert d["Plaintext"] == b"via alias" and d["KeyId"] == key["Arn"]
    finally:
        kms.delete_alias(AliasName=alias)


def test_alias_names_are_case_sensitive(kms, key, key2):
    base = unique_alias()
    upper = "alias/" + base[len("alias/"):].upper()
    kms.create_alias(AliasName=base, TargetKeyId=key["KeyId"])
    kms.create_alias(AliasName=upper, TargetKeyId=key2["KeyId"])
    try:
        assert kms.describe_key(KeyId=base)["KeyMetadata"]["KeyId"] == key["KeyId"]
        assert kms.describe_key(KeyId=upper)["KeyMetadata"]["KeyId"] == key2["KeyId"]
    finally:
        kms.delete_alias(AliasName=base)
        kms.delete_alias(AliasName=upper)


def test_alias_reserved_prefix(kms, key):
    expect_error("InvalidAliasNameException", kms.create_alias, AliasName="alias/aws/e2e", TargetKeyId=key["KeyId"])


def test_alias_duplicate(kms, key, key2):
    alias = unique_alias()
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    try:
        expect_error("AlreadyExistsException", kms.create_alias, AliasName=alias, TargetKeyId=key2["KeyId"])
        expect_error("AlreadyExistsException", kms.create_alias, AliasName=alias, TargetKeyId=key["KeyId"])
        assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key["KeyId"]
    finally:
        kms.delete_alias(AliasName=alias)


@pytest.mark.parametrize("name", ["alias/has space", "alias/bad*char", "alias/ümlaut", "alias/" + "a" * 251])
def test_alias_bad_pattern_or_length(kms, key, name):
    # AliasNameType: 1..256 chars of ^[a-zA-Z0-9:/_-]+$
    expect_error("ValidationException", kms.create_alias, AliasName=name, TargetKeyId=key["KeyId"])


def test_alias_without_prefix(kms, key):
    # Pattern-valid but lacks the required "alias/" prefix: AWS answers ValidationException with
    # this text (issue 21's table, recorded from AWS).
    err = expect_error(
        "ValidationException",
        kms.create_alias,
        AliasName="noprefix-" + uuid.uuid4().hex[:8],
        TargetKeyId=key["KeyId"],
    )
    assert err.response["Error"]["Message"] == (
        'Alias must start with the prefix "alias/". '
        "Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
    )


def test_alias_target_unknown_key(kms):
    expect_error("NotFoundException", kms.create_alias, AliasName=unique_alias(), TargetKeyId=random_key_id())
    expect_error("NotFoundException", kms.update_alias, AliasName=unique_alias(), TargetKeyId=random_key_id())


def test_update_alias_missing_alias(kms, key):
    expect_error("NotFoundException", kms.update_alias, AliasName=unique_alias("nope"), TargetKeyId=key["KeyId"])


def test_alias_paginator(kms, new_key):
    md = new_key()
    names = sorted(unique_alias("pg") for _ in range(5))
    for n in names:
        kms.create_alias(AliasName=n, TargetKeyId=md["KeyId"])
    pages = list(kms.get_paginator("list_aliases").paginate(KeyId=md["KeyId"], PaginationConfig={"PageSize": 2}))
    assert len(pages) >= 3
    for p in pages:
        assert len(p["Aliases"]) <= 2
    got = [a["AliasName"] for p in pages for a in p["Aliases"]]
    assert sorted(got) == names
    for n in names:
        kms.delete_alias(AliasName=n)


def test_list_aliases_limit_out_of_range(kms_nov):
    # ListAliases Limit is 1..100
    expect_error("ValidationException", kms_nov.list_aliases, Limit=101)
    expect_error("ValidationException", kms_nov.list_aliases, Limit=0)


def test_list_aliases_unknown_key(kms):
    expect_error("NotFoundException", kms.list_aliases, KeyId=random_key_id())


def test_alias_limit_per_key(kms, new_key):
    # Quota [dg]: 50 aliases per key; the 51st -> LimitExceededException.
    md = new_key()
    names = [unique_alias("lim") for _ in range(50)]
    for n in names:
        kms.create_alias(AliasName=n, TargetKeyId=md["KeyId"])
    extra = unique_alias("lim")
    expect_error("LimitExceededException", kms.create_alias, AliasName=extra, TargetKeyId=md["KeyId"])
    expect_error("NotFoundException", kms.describe_key, KeyId=extra)
    for n in names:
        kms.delete_alias(AliasName=n)


# --------------------------------------------------------------------------- tags


def _tags(kms, key_id):
    return {
        t["TagKey"]: t["TagValue"]
        for p in kms.get_paginator("list_resource_tags").paginate(KeyId=key_id)
        for t in p["Tags"]
    }


def test_tag_untag_list(kms, new_key):
    md = new_key()
    assert kms.list_resource_tags(KeyId=md["KeyId"])["Tags"] == []
    kms.tag_resource(KeyId=md["KeyId"], Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "b", "TagValue": ""}])
    assert _tags(kms, md["KeyId"]) == {"a": "1", "b": ""}
    # Existing key is overwritten; ARN works as KeyId
    kms.tag_resource(KeyId=md["Arn"], Tags=[{"TagKey": "a", "TagValue": "2"}, {"TagKey": "c", "TagValue": "3"}])
    assert _tags(kms, md["KeyId"]) == {"a": "2", "b": "", "c": "3"}
    # Tag keys are case-sensitive
    kms.tag_resource(KeyId=md["KeyId"], Tags=[{"TagKey": "A", "TagValue": "upper"}])
    assert _tags(kms, md["KeyId"]) == {"a": "2", "A": "upper", "b": "", "c": "3"}
    # Removing a missing key is not an error
    kms.untag_resource(KeyId=md["KeyId"], TagKeys=["a", "does-not-exist"])
    assert _tags(kms, md["KeyId"]) == {"A": "upper", "b": "", "c": "3"}
    kms.untag_resource(KeyId=md["Arn"], TagKeys=["A", "b", "c"])
    assert _tags(kms, md["KeyId"]) == {}


def test_tag_reserved_prefix(kms, new_key):
    md = new_key()
    expect_error("TagException", kms.tag_resource, KeyId=md["KeyId"], Tags=[{"TagKey": "aws:x", "TagValue": "1"}])
    assert _tags(kms, md["KeyId"]) == {}


def test_tag_lengths(kms, new_key):
    md = new_key()
    kms.tag_resource(KeyId=md["KeyId"], Tags=[{"TagKey": "k" * 128, "TagValue": "v" * 256}])
    assert _tags(kms, md["KeyId"]) == {"k" * 128: "v" * 256}
    expect_error(
        {"ValidationException", "TagException"},
        kms.tag_resource,
        KeyId=md["KeyId"],
        Tags=[{"TagKey": "k" * 129, "TagValue": "v"}],
    )
    expect_error(
        {"ValidationException", "TagException"},
        kms.tag_resource,
        KeyId=md["KeyId"],
        Tags=[{"TagKey": "k", "TagValue": "v" * 257}],
    )


def test_tag_limit_per_key(kms, new_key):
    # [dg] at most 50 user tags per key; AWS answers TagException 'Too many tags' (issue 21's
    # table, recorded from AWS), for TagResource and for CreateKey.
    md = new_key()
    kms.tag_resource(KeyId=md["KeyId"], Tags=[{"TagKey": f"t{i:02}", "TagValue": "v"} for i in range(50)])
    assert len(_tags(kms, md["KeyId"])) == 50
    err = expect_error(
        "TagException",
        kms.tag_resource,
        KeyId=md["KeyId"],
        Tags=[{"TagKey": "one-too-many", "TagValue": "v"}],
    )
    assert err.response["Error"]["Message"] == "Too many tags"
    assert len(_tags(kms, md["KeyId"])) == 50
    err = expect_error(
        "TagException", kms.create_key, Tags=[{"TagKey": f"t{i:02}", "TagValue": "v"} for i in range(51)]
    )
    assert err.response["Error"]["Message"] == "Too many tags"
    # Overwriting an existing tag at the limit is fine
    kms.tag_resource(KeyId=md["KeyId"], Tags=[{"TagKey": "t00", "TagValue": "new"}])
    assert _tags(kms, md["KeyId"])["t00"] == "new"


def test_tags_paginator(kms, new_key):
    md = new_key()
    tags = {f"key-{i}": f"value-{i}" for i in range(7)}
    kms.tag_resource(KeyId=md["KeyId"], Tags=[{"TagKey": k, "TagValue": v} for k, v in tags.items()])
    pages = list(
        kms.get_paginator("list_resource_tags").paginate(KeyId=md["KeyId"], PaginationConfig={"PageSize": 2})
    )
    assert len(pages) >= 4
    got = [(t["TagKey"], t["TagValue"]) for p in pages for t in p["Tags"]]
    assert len(got) == len(set(got)) == 7
    assert dict(got) == tags


def test_list_resource_tags_limit_out_of_range(kms_nov, key):
    # ListResourceTags Limit is 1..50
    expect_error("ValidationException", kms_nov.list_resource_tags, KeyId=key["KeyId"], Limit=51)


def test_tag_unknown_key(kms):
    expect_error("NotFoundException", kms.tag_resource, KeyId=random_key_id(), Tags=[{"TagKey": "a", "TagValue": "b"}])
    expect_error("NotFoundException", kms.untag_resource, KeyId=random_key_id(), TagKeys=["a"])
    expect_error("NotFoundException", kms.list_resource_tags, KeyId=random_key_id())


# --------------------------------------------------------------------------- key policies


def _root_principals(policy: dict):
    out = []
    for st in policy["Statement"]:
        p = st.get("Principal", {})
        aws = p.get("AWS") if isinstance(p, dict) else p
        out.extend([aws] if isinstance(aws, str) else list(aws or []))
    return out


def test_default_key_policy(kms, new_key, account_id):
    md = new_key()
    r = kms.get_key_policy(KeyId=md["KeyId"], PolicyName="default")
    policy = json.loads(r["Policy"])
    assert policy["Version"] == "2012-10-17"
    assert policy.get("Id") == "key-default-1"  # reference §7.1
    root = f"arn:aws:iam::{account_id}:root"
    stmts = [
        s
        for s in policy["Statement"]
        if s.get("Effect") == "Allow" and root in _root_principals({"Statement": [s]})
    ]
    assert stmts, f"default policy does not delegate to {root}: {r['Policy']}"
    s = stmts[0]
    assert s["Action"] in ("kms:*", ["kms:*"])
    assert s["Resource"] in ("*", ["*"])
    if "PolicyName" in r:
        assert r["PolicyName"] == "default"
    # PolicyName defaults to "default"; the key ARN works too
    assert json.loads(kms.get_key_policy(KeyId=md["Arn"])["Policy"]) == policy


def test_put_then_get_key_policy(kms, new_key, account_id):
    md = new_key()
    policy = {
        "Version": "2012-10-17",
        "Id": "e2e-custom",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "e2e marker " + uuid.uuid4().hex,
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": ["kms:Encrypt", "kms:Decrypt"],
                "Resource": "*",
            },
        ],
    }
    text = json.dumps(policy, indent=2)
    kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default", Policy=text)
    got = kms.get_key_policy(KeyId=md["KeyId"], PolicyName="default")["Policy"]
    assert json.loads(got) == policy
    # Without PolicyName (defaults to "default"), by ARN
    policy["Id"] = "e2e-custom-2"
    kms.put_key_policy(KeyId=md["Arn"], Policy=json.dumps(policy))
    assert json.loads(kms.get_key_policy(KeyId=md["KeyId"])["Policy"]) == policy


def test_create_key_with_policy(kms, account_id):
    policy = {
        "Version": "2012-10-17",
        "Id": "created-with-policy-" + uuid.uuid4().hex[:8],
        "Statement": [
            {
                "Sid": "root",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    md = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]
    assert json.loads(kms.get_key_policy(KeyId=md["KeyId"], PolicyName="default")["Policy"]) == policy


def test_key_policy_names(kms, new_key):
    md = new_key()
    # AWS_RAM exists only for keys shared through RAM (model docs): NotFoundException.
    expect_error("NotFoundException", kms.get_key_policy, KeyId=md["KeyId"], PolicyName="AWS_RAM")
    # Only the default policy can be set; AWS_RAM -> ValidationException (model docs).
    expect_error(
        "ValidationException",
        kms.put_key_policy,
        KeyId=md["KeyId"],
        PolicyName="AWS_RAM",
        Policy=kms.get_key_policy(KeyId=md["KeyId"])["Policy"],
    )
    # Violates PolicyNameType [\w]+
    expect_error("ValidationException", kms.get_key_policy, KeyId=md["KeyId"], PolicyName="!!!")
    # [?] a well-formed but unknown name: not a valid value (ValidationException) or no such policy (NotFound).
    expect_error(
        {"NotFoundException", "ValidationException"}, kms.get_key_policy, KeyId=md["KeyId"], PolicyName="custom"
    )


def test_put_key_policy_malformed(kms, new_key):
    md = new_key()
    before = kms.get_key_policy(KeyId=md["KeyId"])["Policy"]
    expect_error("MalformedPolicyDocumentException", kms.put_key_policy, KeyId=md["KeyId"], Policy="{not json")
    assert kms.get_key_policy(KeyId=md["KeyId"])["Policy"] == before


def test_put_key_policy_over_32kb(kms, new_key, account_id):
    # Service quota: 32 KB, not adjustable -> LimitExceededException (reference §5).  Valid JSON padded
    # with whitespace so only the size is wrong.
    md = new_key()
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )
    padded = policy[:-1] + " " * (32 * 1024 + 100 - len(policy)) + "}"
    assert 32 * 1024 < len(padded) < 131072
    expect_error("LimitExceededException", kms.put_key_policy, KeyId=md["KeyId"], Policy=padded)


def test_list_key_policies(kms, new_key):
    md = new_key()
    r = kms.list_key_policies(KeyId=md["KeyId"])
    assert r["PolicyNames"] == ["default"]
    assert r["Truncated"] is False
    assert "NextMarker" not in r
    pages = list(kms.get_paginator("list_key_policies").paginate(KeyId=md["Arn"]))
    assert [n for p in pages for n in p["PolicyNames"]] == ["default"]


def test_key_policy_unknown_key(kms):
    expect_error("NotFoundException", kms.get_key_policy, KeyId=random_key_id(), PolicyName="default")
    expect_error("NotFoundException", kms.list_key_policies, KeyId=random_key_id())


# --------------------------------------------------------------------------- more state / validation rules


def test_default_page_sizes(kms, new_key):
    # ListKeys defaults to 100 per page, ListAliases to 50 (reference §2 "Pagination").
    total = sum(len(p["Keys"]) for p in kms.get_paginator("list_keys").paginate())
    for _ in range(max(0, 101 - total)):
        kms.create_key()
    r = kms.list_keys()
    assert len(r["Keys"]) == 100, len(r["Keys"])
    assert r["Truncated"] is True and r["NextMarker"]

    # 50 aliases on one key (the per-key quota) plus one on another key: 51 in the account.
    md, other = new_key(), new_key()
    names = [unique_alias("dflt") for _ in range(51)]
    for n in names[:50]:
        kms.create_alias(AliasName=n, TargetKeyId=md["KeyId"])
    kms.create_alias(AliasName=names[50], TargetKeyId=other["KeyId"])
    r = kms.list_aliases()
    assert len(r["Aliases"]) == 50, len(r["Aliases"])
    assert r["Truncated"] is True and r["NextMarker"]
    r = kms.list_aliases(KeyId=md["KeyId"])
    assert len(r["Aliases"]) == 50 and r["Truncated"] is False
    for n in names:
        kms.delete_alias(AliasName=n)


def test_update_alias_and_pending_deletion(kms, new_key):
    # UpdateAlias: fine if the *old* target is pending deletion, KMSInvalidStateException if the new one is.
    live, doomed = new_key(), new_key()
    alias = unique_alias()
    kms.create_alias(AliasName=alias, TargetKeyId=doomed["KeyId"])
    kms.schedule_key_deletion(KeyId=doomed["KeyId"], PendingWindowInDays=7)
    kms.update_alias(AliasName=alias, TargetKeyId=live["KeyId"])
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == live["KeyId"]
    expect_error("KMSInvalidStateException", kms.update_alias, AliasName=alias, TargetKeyId=doomed["KeyId"])
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == live["KeyId"]
    # DeleteAlias works whatever the target's state
    kms.update_alias(AliasName=alias, TargetKeyId=live["KeyId"])
    kms.delete_alias(AliasName=alias)
    kms.cancel_key_deletion(KeyId=doomed["KeyId"])


def test_alias_of_disabled_key(kms, new_key):
    md = new_key()
    alias = unique_alias()
    kms.create_alias(AliasName=alias, TargetKeyId=md["KeyId"])
    kms.disable_key(KeyId=md["KeyId"])
    expect_error("DisabledException", kms.encrypt, KeyId=alias, Plaintext=b"x")
    # Alias and management ops still work on a disabled key (state table)
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyState"] == "Disabled"
    kms.tag_resource(KeyId=md["KeyId"], Tags=[{"TagKey": "k", "TagValue": "v"}])
    kms.update_key_description(KeyId=md["KeyId"], Description="still editable")
    kms.delete_alias(AliasName=alias)


def test_error_messages_name_the_key(kms, new_key):
    # Message styles from the reference (§1.4, §4): "<arn> is disabled", "... is pending deletion",
    # "Alias <aliasArn> is not found.", validation messages naming the lowerCamel field.
    md = new_key()
    kms.disable_key(KeyId=md["KeyId"])
    e = expect_error("DisabledException", kms.encrypt, KeyId=md["KeyId"], Plaintext=b"x")
    assert md["Arn"] in e.response["Error"]["Message"]
    kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
    e = expect_error("KMSInvalidStateException", kms.encrypt, KeyId=md["KeyId"], Plaintext=b"x")
    assert md["Arn"] in e.response["Error"]["Message"]
    assert "pending deletion" in e.response["Error"]["Message"]
    missing = unique_alias("msg")
    e = expect_error("NotFoundException", kms.describe_key, KeyId=missing)
    assert missing in e.response["Error"]["Message"]
    e = expect_error("ValidationException", kms.encrypt, KeyId="alias/x", Plaintext=b"a" * 4097)
    assert "'plaintext'" in e.response["Error"]["Message"] and "4096" in e.response["Error"]["Message"]


def test_create_key_other_validation(kms):
    expect_error("ValidationException", kms.create_key, Origin="SOMEWHERE")
    expect_error("MalformedPolicyDocumentException", kms.create_key, Policy="{not json")


@pytest.mark.parametrize(
    "kwargs",
    [dict(MultiRegion=True, Origin="EXTERNAL"), dict(Origin="AWS_CLOUDHSM")],
)
def test_create_key_unimplemented_features_are_client_errors(kms, kwargs):
    # Not implemented yet by Kinko: a 4xx (never 5xx), and no key gets created.
    before = {k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]}
    expect_error({"UnsupportedOperationException", "ValidationException"}, kms.create_key, **kwargs)
    after = {k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]}
    assert after == before


@pytest.mark.parametrize(
    "op,kwargs",
    [
        ("sign", dict(Message=b"m", SigningAlgorithm="ECDSA_SHA_256")),
        ("get_public_key", {}),
    ],
)
def test_unimplemented_operations(kms, key, op, kwargs):
    # Kinko's contract until these exist: UnsupportedOperationException naming the operation.
    # (For Sign on a symmetric key AWS itself says InvalidKeyUsageException; either is a client fault.)
    e = expect_error(
        {"UnsupportedOperationException", "InvalidKeyUsageException"},
        getattr(kms, op),
        KeyId=key["KeyId"],
        **kwargs,
    )
    assert e.response["Error"]["Message"]
