"""The audit trail as clients see it: CloudTrail LookupEvents (boto3 and the AWS CLI) over the
records of KMS requests, what a record holds and never holds, and GetKeyLastUsage.

Every request the server can attribute (it names an access key) is one CloudTrail record;
LookupEvents shows the caller's account's records, newest first (reference §7.5)."""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid

import pytest

from audit_helpers import (
    CLOUDTRAIL_TARGET,
    all_events,
    cli_runner,
    find_by_request_id,
    make_client,
    record,
    request_id_counts,
    send_raw,
    signed_call,
)
from kinko_helpers import assert_recent, expect_error, random_key_id, unique_alias
from kinko_server import run_kinko


def by(key: str, value: str) -> dict:
    return {"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}]}


def rid(response: dict) -> str:
    return response["ResponseMetadata"]["RequestId"]


@pytest.fixture(scope="session")
def cloudtrail(kinko):
    return make_client(kinko, "cloudtrail")


@pytest.fixture(scope="session")
def cloudtrail_nov(kinko):
    return make_client(kinko, "cloudtrail", parameter_validation=False)


# --------------------------------------------------------------------------- LookupEvents


def test_lookup_finds_an_encrypt_by_name_resource_and_event_id(kms, cloudtrail, key, kinko):
    enc = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"audit lookup probe")
    request_id = rid(enc)

    by_name = find_by_request_id(cloudtrail, request_id, **by("EventName", "Encrypt"))
    by_resource = find_by_request_id(cloudtrail, request_id, **by("ResourceName", key["Arn"]))
    by_key_id = find_by_request_id(cloudtrail, request_id, **by("ResourceName", key["KeyId"]))
    event_id = by_name["EventId"]
    by_id = cloudtrail.lookup_events(**by("EventId", event_id))["Events"]
    assert [e["EventId"] for e in by_id] == [event_id]
    for e in (by_resource, by_key_id, by_id[0]):
        assert e["EventId"] == event_id
        assert e["CloudTrailEvent"] == by_name["CloudTrailEvent"]

    e = by_name
    assert e["EventName"] == "Encrypt"
    assert e["ReadOnly"] == "true"
    assert e["EventSource"] == "kms.amazonaws.com"
    assert e["AccessKeyId"] == kinko.access_key
    assert e["Username"] == "root"
    assert e["Resources"] == [{"ResourceType": "AWS::KMS::Key", "ResourceName": key["Arn"]}]
    assert_recent(e["EventTime"])


def test_lookup_by_the_other_attributes(kms, cloudtrail, key, kinko):
    request_id = rid(kms.encrypt(KeyId=key["KeyId"], Plaintext=b"attributes probe"))
    for attr in (
        by("ReadOnly", "true"),
        by("Username", "root"),
        by("ResourceType", "AWS::KMS::Key"),
        by("EventSource", "kms.amazonaws.com"),
        by("AccessKeyId", kinko.access_key),
    ):
        find_by_request_id(cloudtrail, request_id, **attr)
    # Attributes the Encrypt does not have find it nowhere (first pages are enough: newest first).
    for attr in (
        by("ReadOnly", "false"),
        by("Username", "someone-else"),
        by("ResourceType", "AWS::S3::Bucket"),
        by("EventSource", "cloudtrail.amazonaws.com"),
        by("EventName", "Decrypt"),
    ):
        page = cloudtrail.lookup_events(**attr)["Events"]
        assert request_id not in request_id_counts(page), attr
    writes = cloudtrail.lookup_events(**by("ReadOnly", "false"))["Events"]
    assert writes and all(w["ReadOnly"] == "false" for w in writes)
    reads = cloudtrail.lookup_events(**by("EventSource", "cloudtrail.amazonaws.com"))["Events"]
    assert reads and all(r["EventName"] == "LookupEvents" for r in reads), "lookups are audited too"


def test_record_of_a_call_and_of_a_failed_call(kms, cloudtrail, key, account_id):
    enc = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"record fields probe", EncryptionContext={"purpose": "audit"})
    event = find_by_request_id(cloudtrail, rid(enc), **by("EventName", "Encrypt"))
    rec = record(event)
    assert rec["eventSource"] == "kms.amazonaws.com"
    assert rec["eventName"] == "Encrypt"
    assert rec["requestID"] == rid(enc)
    assert rec["eventID"] == event["EventId"]
    assert rec["userIdentity"]["arn"] == f"arn:aws:iam::{account_id}:root"
    assert rec["userIdentity"]["accountId"] == account_id
    assert rec["resources"][0]["ARN"] == key["Arn"]
    assert rec["resources"][0]["type"] == "AWS::KMS::Key"
    assert rec["readOnly"] is True
    assert rec["awsRegion"] == "us-east-1"
    assert rec["recipientAccountId"] == account_id
    assert rec["requestParameters"]["keyId"] == key["KeyId"]
    assert rec["requestParameters"]["encryptionContext"] == {"purpose": "audit"}
    assert "errorCode" not in rec
    assert dt.datetime.strptime(rec["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.timezone.utc
    ) == event["EventTime"]

    missing = random_key_id()
    err = expect_error("NotFoundException", kms.describe_key, KeyId=missing)
    failed = record(find_by_request_id(cloudtrail, rid(err.response), **by("EventName", "DescribeKey")))
    assert failed["errorCode"] == "NotFoundException"
    assert failed["eventName"] == "DescribeKey"
    assert failed["requestParameters"]["keyId"] == missing
    assert failed["userIdentity"]["arn"] == f"arn:aws:iam::{account_id}:root"

    created = kms.create_key(Description="audit write probe")
    write = find_by_request_id(cloudtrail, rid(created), **by("EventName", "CreateKey"))
    assert write["ReadOnly"] == "false"
    assert record(write)["readOnly"] is False
    assert record(write)["resources"][0]["ARN"] == created["KeyMetadata"]["Arn"]


def test_records_never_hold_plaintexts_data_keys_or_ciphertexts(kms, cloudtrail, key, observed_secrets):
    plaintext = f"audit-secret-{uuid.uuid4().hex}".encode()
    dk = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256", EncryptionContext={"k": "v"})
    enc = kms.encrypt(KeyId=key["KeyId"], Plaintext=plaintext)
    dec = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"])
    assert dec["Plaintext"] == plaintext
    observed_secrets.extend([plaintext, dk["Plaintext"]])

    secrets = {
        "message plaintext": plaintext,
        "data key": dk["Plaintext"],
        "data key ciphertext": dk["CiphertextBlob"],
        "ciphertext": enc["CiphertextBlob"],
    }
    forms = {}
    for name, value in secrets.items():
        forms[f"{name} (base64)"] = base64.b64encode(value).decode()
        forms[f"{name} (base64url)"] = base64.urlsafe_b64encode(value).decode().rstrip("=")
        forms[f"{name} (hex)"] = value.hex()
    forms["message plaintext (text)"] = plaintext.decode()

    texts = []
    for response, op in ((dk, "GenerateDataKey"), (enc, "Encrypt"), (dec, "Decrypt")):
        event = find_by_request_id(cloudtrail, rid(response), **by("EventName", op))
        rec = record(event)
        assert rec["eventName"] == op and rec["readOnly"] is True
        texts.append(event["CloudTrailEvent"])
    # The whole LookupEvents answer, not just the records.
    texts.append(repr(cloudtrail.lookup_events(**by("ResourceName", key["Arn"]), MaxResults=10)["Events"]))
    for text in texts:
        for name, form in forms.items():
            assert form not in text, f"{name} is in an audit record"
    # What is recorded instead: the parameters that are not secret.
    gdk = record(find_by_request_id(cloudtrail, rid(dk), **by("EventName", "GenerateDataKey")))
    params = gdk["requestParameters"]
    assert (params["keyId"], params["keySpec"], params["encryptionContext"]) == (key["KeyId"], "AES_256", {"k": "v"})
    assert not {"plaintext", "ciphertextBlob"} & set(params)
    assert record(find_by_request_id(cloudtrail, rid(dec), **by("EventName", "Decrypt")))["requestParameters"][
        "encryptionAlgorithm"
    ] == "SYMMETRIC_DEFAULT"


def test_paginator_walks_more_than_fifty_events(kms, cloudtrail):
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    ids = [rid(kms.generate_random(NumberOfBytes=4)) for _ in range(57)]
    query = dict(**by("EventName", "GenerateRandom"), StartTime=start)

    pages = list(cloudtrail.get_paginator("lookup_events").paginate(**query))
    assert len(pages) >= 2
    assert len(pages[0]["Events"]) == 50, "MaxResults defaults to 50"
    assert "NextToken" in pages[0] and "NextToken" not in pages[-1]
    counts = request_id_counts([e for p in pages for e in p["Events"]])
    assert all(counts[i] == 1 for i in ids), "every event exactly once across pages"

    small = list(cloudtrail.get_paginator("lookup_events").paginate(**query, PaginationConfig={"PageSize": 8}))
    assert len(small) >= 8 and all(len(p["Events"]) <= 8 for p in small)
    counts = request_id_counts([e for p in small for e in p["Events"]])
    assert all(counts[i] == 1 for i in ids)
    times = [e["EventTime"] for p in small for e in p["Events"]]
    assert times == sorted(times, reverse=True), "newest first"


def test_start_and_end_time(kms, cloudtrail, key):
    first = rid(kms.encrypt(KeyId=key["KeyId"], Plaintext=b"time one"))
    t1 = find_by_request_id(cloudtrail, first, **by("EventName", "Encrypt"))["EventTime"]
    time.sleep(1.2)  # records have whole seconds: the next one is in a later second
    second = rid(kms.encrypt(KeyId=key["KeyId"], Plaintext=b"time two"))
    t2 = find_by_request_id(cloudtrail, second, **by("EventName", "Encrypt"))["EventTime"]
    assert t2 > t1

    early = request_id_counts(
        all_events(cloudtrail, **by("EventName", "Encrypt"), StartTime=t1 - dt.timedelta(seconds=5), EndTime=t1)
    )
    assert early[first] == 1 and early[second] == 0
    late = request_id_counts(
        all_events(cloudtrail, **by("EventName", "Encrypt"), StartTime=t2, EndTime=t2 + dt.timedelta(seconds=5))
    )
    assert late[second] == 1 and late[first] == 0
    both = request_id_counts(all_events(cloudtrail, **by("EventName", "Encrypt"), StartTime=t1, EndTime=t2))
    assert both[first] == 1 and both[second] == 1
    expect_error("InvalidTimeRangeException", cloudtrail.lookup_events, StartTime=t2, EndTime=t1)


def test_lookup_errors_and_insight_events(cloudtrail, cloudtrail_nov):
    expect_error("InvalidMaxResultsException", cloudtrail.lookup_events, MaxResults=51)
    expect_error("InvalidMaxResultsException", cloudtrail_nov.lookup_events, MaxResults=0)
    expect_error("InvalidNextTokenException", cloudtrail.lookup_events, NextToken="not-a-token")
    # A token is only good for the query that issued it.
    token = cloudtrail.lookup_events(MaxResults=1)["NextToken"]
    assert cloudtrail.lookup_events(MaxResults=1, NextToken=token)["Events"]
    expect_error(
        "InvalidNextTokenException", cloudtrail.lookup_events, **by("EventName", "Encrypt"), NextToken=token
    )
    two = [
        {"AttributeKey": "EventName", "AttributeValue": "Encrypt"},
        {"AttributeKey": "ReadOnly", "AttributeValue": "true"},
    ]
    expect_error("InvalidLookupAttributesException", cloudtrail.lookup_events, LookupAttributes=two)
    expect_error("InvalidLookupAttributesException", cloudtrail.lookup_events, **by("ReadOnly", "maybe"))
    expect_error("InvalidLookupAttributesException", cloudtrail_nov.lookup_events, **by("Colour", "blue"))
    expect_error("InvalidEventCategoryException", cloudtrail_nov.lookup_events, EventCategory="Data")
    insight = cloudtrail.lookup_events(EventCategory="insight")
    assert insight["Events"] == [] and "NextToken" not in insight, "Kinko has no Insights events"
    err = expect_error("UnsupportedOperationException", cloudtrail.describe_trails)
    assert "DescribeTrails" in err.response["Error"]["Message"]


def test_aws_cli_lookup_events(kms, kinko):
    created = kms.create_key(Description="audit CLI probe")
    arn = created["KeyMetadata"]["Arn"]
    run = cli_runner(kinko)
    _, out, _ = run(
        "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=CreateKey"
    )
    mine = [e for e in out["Events"] if record(e)["requestID"] == rid(created)]
    assert len(mine) == 1, out
    assert mine[0]["EventName"] == "CreateKey"
    assert mine[0]["Resources"] == [{"ResourceType": "AWS::KMS::Key", "ResourceName": arn}]
    assert all(e["EventName"] == "CreateKey" for e in out["Events"])
    rc, _, stderr = run("cloudtrail", "lookup-events", "--max-results", "51", check=False)
    assert rc != 0 and "InvalidMaxResultsException" in stderr


# --------------------------------------------------------------------------- GetKeyLastUsage


def test_get_key_last_usage(kms, cloudtrail, new_key):
    md = new_key(Description="last usage probe")
    fresh = kms.get_key_last_usage(KeyId=md["KeyId"])
    assert fresh["KeyId"] == md["Arn"]
    assert fresh["KeyLastUsage"] == {}, "never used"
    assert fresh["KeyCreationDate"] == md["CreationDate"]
    assert fresh["TrackingStartDate"] == md["CreationDate"], "Kinko tracks from creation"

    enc = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"last usage")
    used = kms.get_key_last_usage(KeyId=md["Arn"])["KeyLastUsage"]
    assert used["Operation"] == "Encrypt"
    assert used["KmsRequestId"] == rid(enc)
    assert_recent(used["Timestamp"])
    assert used["Timestamp"] >= md["CreationDate"]
    event = cloudtrail.lookup_events(**by("EventId", used["CloudTrailEventId"]))["Events"]
    assert [record(e)["requestID"] for e in event] == [rid(enc)]

    # Failures are not uses; nor is anything that is not cryptographic.
    expect_error("InvalidCiphertextException", kms.decrypt, KeyId=md["KeyId"], CiphertextBlob=b"\x01" * 64)
    kms.describe_key(KeyId=md["KeyId"])
    kms.update_key_description(KeyId=md["KeyId"], Description="still last usage probe")
    after = kms.get_key_last_usage(KeyId=md["KeyId"])["KeyLastUsage"]
    assert after == used

    dk = kms.generate_data_key_without_plaintext(KeyId=md["KeyId"], NumberOfBytes=16)
    latest = kms.get_key_last_usage(KeyId=md["KeyId"])["KeyLastUsage"]
    assert latest["Operation"] == "GenerateDataKeyWithoutPlaintext"
    assert latest["KmsRequestId"] == rid(dk)


def test_get_key_last_usage_refuses_aliases_and_unknown_keys(kms, new_key, account_id):
    md = new_key(Description="last usage alias probe")
    alias = unique_alias("lastusage")
    kms.create_alias(AliasName=alias, TargetKeyId=md["KeyId"])
    expect_error("NotFoundException", kms.get_key_last_usage, KeyId=alias)
    expect_error("NotFoundException", kms.get_key_last_usage, KeyId=f"arn:aws:kms:us-east-1:{account_id}:{alias}")
    expect_error("NotFoundException", kms.get_key_last_usage, KeyId=random_key_id())


# --------------------------------------------------------------------------- exactly one event per request


def test_every_attributable_request_is_recorded_exactly_once(tmp_path):
    """On a fresh server: requests of many kinds, successes and failures (protocol, signature,
    service errors), each recorded exactly once and visible to the account whose access key they
    name; requests that name no access key are not recorded."""
    config_file = tmp_path / "aws-config"
    config_file.write_text("")
    with run_kinko(tmp_path / "data", tmp_path / "server.log", config_file) as server:
        kms = make_client(server, "kms")
        kms_nov = make_client(server, "kms", parameter_validation=False)
        ct = make_client(server, "cloudtrail")
        expected: dict[str, tuple[str, str, str | None]] = {}  # request id -> (source, name, error)

        def ok(name, response, source="kms.amazonaws.com"):
            expected[rid(response)] = (source, name, None)
            return response

        def fails(name, code, fn, source="kms.amazonaws.com", **kwargs):
            err = expect_error(code, fn, **kwargs)
            expected[rid(err.response)] = (source, name, code)

        def raw(name, code, response, source="kms.amazonaws.com"):
            assert response.status == 400 and response.error_type == code, response
            expected[response.request_id] = (source, name, code)

        key = ok("CreateKey", kms.create_key(Description="exactly once"))["KeyMetadata"]
        ok("DescribeKey", kms.describe_key(KeyId=key["KeyId"]))
        blob = ok("Encrypt", kms.encrypt(KeyId=key["KeyId"], Plaintext=b"exactly once"))["CiphertextBlob"]
        ok("Decrypt", kms.decrypt(CiphertextBlob=blob))
        ok("GenerateDataKey", kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256"))
        ok("ListKeys", kms.list_keys())
        ok("CreateAlias", kms.create_alias(AliasName=unique_alias("once"), TargetKeyId=key["KeyId"]))
        ok("TagResource", kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "k", "TagValue": "v"}]))
        ok("DisableKey", kms.disable_key(KeyId=key["KeyId"]))
        fails("Encrypt", "DisabledException", kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
        ok("EnableKey", kms.enable_key(KeyId=key["KeyId"]))
        ok("GetKeyLastUsage", kms.get_key_last_usage(KeyId=key["KeyId"]))
        ok("GenerateRandom", kms.generate_random(NumberOfBytes=16))
        fails("DescribeKey", "NotFoundException", kms.describe_key, KeyId=random_key_id())
        fails("Decrypt", "InvalidCiphertextException", kms.decrypt, CiphertextBlob=b"\x00" * 64)
        fails("GenerateRandom", "ValidationException", kms_nov.generate_random, NumberOfBytes=0)
        ct_source = "cloudtrail.amazonaws.com"
        ok("LookupEvents", ct.lookup_events(MaxResults=1), source=ct_source)
        fails("LookupEvents", "InvalidMaxResultsException", ct.lookup_events, source=ct_source, MaxResults=51)
        fails("DescribeTrails", "UnsupportedOperationException", ct.describe_trails, source=ct_source)

        raw("Encrypt", "SerializationException", signed_call(server, "Encrypt", b'{"KeyId": '))
        raw("NoSuchOperation", "UnknownOperationException", signed_call(server, "NoSuchOperation"))
        raw(
            "NoSuchOperation",
            "UnknownOperationException",
            signed_call(server, CLOUDTRAIL_TARGET + "NoSuchOperation", service="cloudtrail"),
            source=ct_source,
        )
        bad_secret = signed_call(server, "GenerateRandom", {"NumberOfBytes": 8}, secret_key="not-the-secret" * 3)
        raw("GenerateRandom", "InvalidSignatureException", bad_secret)
        wrong_service = signed_call(server, "GenerateRandom", {"NumberOfBytes": 8}, service="s3")
        raw("GenerateRandom", "InvalidSignatureException", wrong_service)

        # Not attributable to this account: nothing recorded, or nothing it can see.
        unsigned = signed_call(server, "GenerateRandom", {"NumberOfBytes": 8}, sign=False)
        assert unsigned.error_type == "MissingAuthenticationTokenException", unsigned
        stranger = signed_call(
            server, "GenerateRandom", {"NumberOfBytes": 8}, access_key="AKIAIOSFODNN7EXAMPLE", secret_key="x" * 40
        )
        assert stranger.error_type == "UnrecognizedClientException", stranger
        health = send_raw(server, {"Host": f"{server.host}:{server.port}"}, b"", method="GET", path="/healthz")
        assert health.status == 200
        invisible = [unsigned.request_id, stranger.request_id, health.request_id]
        assert all(invisible) and not set(invisible) & set(expected)
        assert len(expected) == 24, "distinct request ids"

        events = all_events(ct)
        counts = request_id_counts(events)
        for request_id, (source, name, error) in expected.items():
            assert counts[request_id] == 1, f"{name} ({error}) {request_id}: {counts[request_id]} events"
        for request_id in invisible:
            assert counts[request_id] == 0, request_id
        # Nothing else: the lookups that read the trail come after the events they page through.
        assert len(events) == len(expected), sorted(counts.items())

        for e in events:
            rec = record(e)
            source, name, error = expected[rec["requestID"]]
            assert (e["EventSource"], e["EventName"], rec.get("errorCode")) == (source, name, error), rec
            assert e["AccessKeyId"] == server.access_key
            assert rec["eventID"] == e["EventId"]
        bad = record(next(e for e in events if record(e)["requestID"] == bad_secret.request_id))
        assert "arn" not in bad["userIdentity"], "a bad signature proves no identity"
        assert bad["userIdentity"]["accessKeyId"] == server.access_key
