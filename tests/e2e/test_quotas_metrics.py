"""Request quotas, the in-flight bound, readiness, metrics and JSON logs, through a `kinko serve`
of this file's own (the session's server runs with every quota off).

Quotas are set so low that a second request within the test's lifetime is over them
(0.01 per second: one request, then none for 100 s), so nothing here depends on timing."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from audit_helpers import find_by_request_id, make_client, record
from kinko_server import _free_port, run_kinko

THROTTLED = "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("quotas")
    config_file = base / "aws-config"
    config_file.write_text("")
    metrics_port = _free_port()
    args = (
        "--quota", "cryptographic-symmetric=0.01",
        "--quota", "create-alias=0.01",
        "--max-requests-in-flight", "1",
        "--metrics-listen", f"127.0.0.1:{metrics_port}",
        "--log-format", "json",
    )
    env = {"KINKO_LOG": "info,kinko_server=debug"}
    with run_kinko(base / "data", base / "server.log", config_file, args, env) as s:
        yield s, f"http://127.0.0.1:{metrics_port}/metrics"


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(text: str, name: str, **labels) -> float:
    """The value of the sample of `name` whose labels include `labels` (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


def test_over_quota_is_throttling_exception_which_changes_nothing_and_is_audited(server):
    s, metrics_url = server
    kms = make_client(s, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]

    kms.encrypt(KeyId=key_id, Plaintext=b"first")
    with pytest.raises(ClientError) as raised:
        kms.encrypt(KeyId=key_id, Plaintext=b"second")
    err = raised.value.response
    assert err["Error"]["Code"] == "ThrottlingException"
    assert err["Error"]["Message"] == THROTTLED
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Symmetric operations share one bucket: GenerateDataKey is throttled too.
    with pytest.raises(ClientError) as shared:
        kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert shared.value.response["Error"]["Code"] == "ThrottlingException"

    # A throttled change changes nothing: the alias is not created.
    kms.create_alias(AliasName="alias/quota-one", TargetKeyId=key_id)
    with pytest.raises(ClientError) as alias:
        kms.create_alias(AliasName="alias/quota-two", TargetKeyId=key_id)
    assert alias.value.response["Error"]["Code"] == "ThrottlingException"
    names = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    assert "alias/quota-one" in names and "alias/quota-two" not in names

    # CloudTrail records the throttled call with its errorCode, as AWS does.
    cloudtrail = make_client(s, "cloudtrail")
    request_id = err["ResponseMetadata"]["RequestId"]
    event = record(
        find_by_request_id(
            cloudtrail, request_id, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}]
        )
    )
    assert event["errorCode"] == "ThrottlingException"
    assert event["errorMessage"] == THROTTLED
    assert event["requestParameters"]["keyId"] == key_id
    assert event["userIdentity"]["accountId"] == event["recipientAccountId"]

    status, text = get(metrics_url)
    assert status == 200
    assert metric(text, "kinko_quota_refusals_total", quota="cryptographic-symmetric") >= 2
    assert metric(text, "kinko_quota_refusals_total", quota="create-alias") >= 1
    assert metric(text, "kinko_requests_total", service="kms", operation="Encrypt", result="ThrottlingException") >= 1
    assert metric(text, "kinko_requests_total", service="kms", operation="Encrypt", result="ok") >= 1


def test_sdk_retry_modes_back_off_and_retry_a_throttled_call(server):
    s, _ = server
    key_id = make_client(s, "kms").create_key()["KeyMetadata"]["KeyId"]
    for mode in ("standard", "legacy"):
        kms = make_client(s, "kms", retries={"max_attempts": 3, "mode": mode})
        with pytest.raises(ClientError) as raised:
            kms.encrypt(KeyId=key_id, Plaintext=b"retried")
        meta = raised.value.response["ResponseMetadata"]
        assert raised.value.response["Error"]["Code"] == "ThrottlingException", mode
        # Every attempt was throttled: the SDK retried (botocore's `max_attempts` counts
        # retries) before giving up.
        assert meta["RetryAttempts"] == 3, (mode, meta)
        assert meta["MaxAttemptsReached"] is True, (mode, meta)


def test_a_request_past_the_in_flight_bound_is_refused_at_once(server):
    """With one permit, a request that arrives while another is being worked on is refused at
    once. The permit is taken once a request's body is in (the listener reads bodies under its
    own timeout and connection limit), so the held request here is real work: RSA-4096 key
    generation, which takes a noticeable fraction of a second, repeated until a refusal is seen."""
    s, metrics_url = server
    kms = make_client(s, "kms")
    holder_kms = make_client(s, "kms")
    stop = threading.Event()

    def hold():
        while not stop.is_set():
            try:
                holder_kms.create_key(KeySpec="RSA_4096", KeyUsage="SIGN_VERIFY")
            except ClientError:
                pass

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    refused = None
    try:
        for _ in range(400):
            try:
                kms.list_keys()
            except ClientError as e:
                refused = e.response
                break
            time.sleep(0.02)
        assert refused is not None, "no request was ever refused while key generation held the permit"
        assert refused["Error"]["Code"] == "ThrottlingException"
        assert refused["ResponseMetadata"]["HTTPStatusCode"] == 400
        # Health and metrics take no permit.
        assert get(f"{s.endpoint}/healthz")[0] == 200
        status, text = get(metrics_url)
        assert status == 200 and metric(text, "kinko_in_flight_refusals_total") >= 1
    finally:
        stop.set()
        holder.join(timeout=60)
    for _ in range(50):  # the permit comes back once the held request ends
        try:
            kms.list_keys()
            break
        except ClientError:
            time.sleep(0.1)
    else:
        pytest.fail("the permit never came back")


def test_metrics_show_keys_caches_and_the_audit_writer_without_key_ids(server):
    s, metrics_url = server
    kms = make_client(s, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key_id)
    status, text = get(metrics_url)
    assert status == 200
    assert text.count("\n") > 10
    assert metric(text, "kinko_keys", state="Disabled") >= 1
    assert metric(text, "kinko_keys", state="Enabled") >= 1
    assert metric(text, "kinko_cache_lookups_total", cache="key") >= 1
    assert metric(text, "kinko_audit_flush_duration_seconds_count") >= 1
    assert "kinko_audit_queue_depth" in text
    assert metric(text, "kinko_request_duration_seconds_count", service="kms", operation="CreateKey") >= 1
    # Bounded labels only: no key id, account or access key appears.
    assert key_id not in text
    assert s.access_key not in text
    account = make_client(s, "kms").describe_key(KeyId=key_id)["KeyMetadata"]["AWSAccountId"]
    assert account not in text


def test_json_logs_carry_the_request_id(server):
    s, _ = server
    kms = make_client(s, "kms")
    with pytest.raises(ClientError) as raised:
        kms.describe_key(KeyId="alias/does-not-exist")
    request_id = raised.value.response["ResponseMetadata"]["RequestId"]
    lines = []
    for _ in range(50):
        lines = [json.loads(line) for line in s.log_file.read_text().splitlines() if line.startswith("{")]
        if any(line.get("span", {}).get("request_id") == request_id for line in lines):
            break
        time.sleep(0.1)
    mine = [line for line in lines if line.get("span", {}).get("request_id") == request_id]
    assert mine, "no log line carries the request id"
    assert all(line["span"]["name"] == "request" for line in mine)
    assert any(line["fields"].get("code") == "NotFoundException" for line in mine)


POSTGRES_URL = os.environ.get("KINKO_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True, capture_output=True)


def test_readyz_fails_while_the_audit_writer_cannot_write(tmp_path):
    """Ready only while the audit writer writes: on a PostgreSQL store whose audit table is made
    to refuse inserts, a request fails closed and /readyz turns 503 until writes work again."""
    database = f"kinko_e2e_readyz_{os.getpid()}"
    base_url = POSTGRES_URL.rsplit("/", 1)[0]
    psql(POSTGRES_URL, f"CREATE DATABASE {database}")
    store_url = f"{base_url}/{database}"
    config_file = tmp_path / "aws-config"
    config_file.write_text("")
    try:
        with run_kinko(tmp_path / "data", tmp_path / "server.log", config_file, ("--store", store_url)) as s:
            kms = make_client(s, "kms")
            kms.list_keys()
            assert get(f"{s.endpoint}/readyz") == (200, "ready")
            psql(
                store_url,
                "CREATE FUNCTION e2e_refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'e2e: refused'; END $$ "
                "LANGUAGE plpgsql; CREATE TRIGGER e2e_refuse BEFORE INSERT ON audit_events "
                "FOR EACH ROW EXECUTE FUNCTION e2e_refuse()",
            )
            with pytest.raises(ClientError) as raised:
                kms.list_keys()
            assert raised.value.response["Error"]["Code"] == "KMSInternalException"
            assert get(f"{s.endpoint}/readyz") == (503, "not ready: audit writer")
            assert get(f"{s.endpoint}/healthz")[0] == 200
            psql(store_url, "DROP TRIGGER e2e_refuse ON audit_events")
            kms.list_keys()
            assert get(f"{s.endpoint}/readyz") == (200, "ready")
    finally:
        psql(POSTGRES_URL, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
