"""Secrets Manager under AWS's request quotas, through a `kinko serve` of this file's own (the
session's server runs with every quota off). The quota is set so low (0.01 per second: one
request, then none for 100 s) that nothing here depends on timing."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from audit_helpers import find_by_request_id, make_client, record
from kinko_server import run_kinko


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("sm-quotas")
    config_file = base / "aws-config"
    config_file.write_text("")
    args = ("--quota", "secretsmanager-get-secret-value=0.01", "--quota", "secretsmanager-tag-resource=0.01")
    with run_kinko(base / "data", base / "server.log", config_file, args) as s:
        yield s


def throttled(fn, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as info:
        fn(**kwargs)
    err = info.value.response
    assert err["Error"]["Code"] == "ThrottlingException", err
    assert err["Error"]["Message"] == "Rate exceeded", err
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400, err
    return info.value


def test_a_low_quota_throttles_get_secret_value_and_describe_secret_together(server):
    sm = make_client(server, "secretsmanager")
    arn = sm.create_secret(Name="quota/db", SecretString="s3cr3t-value")["ARN"]
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "s3cr3t-value"
    # DescribeSecret shares GetSecretValue's quota, as AWS combines them.
    refused = throttled(sm.describe_secret, SecretId=arn)
    throttled(sm.get_secret_value, SecretId=arn)
    # Other operations have their own quotas (the defaults here).
    assert [s["ARN"] for s in sm.list_secrets()["SecretList"]] == [arn]
    sm.put_secret_value(SecretId=arn, SecretString="next-value")
    # Secrets Manager's TagResource is throttled apart from KMS's.
    sm.tag_resource(SecretId=arn, Tags=[{"Key": "team", "Value": "a"}])
    throttled(sm.tag_resource, SecretId=arn, Tags=[{"Key": "team", "Value": "b"}])
    kms = make_client(server, "kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "team", "TagValue": "a"}])
    # A throttled request changed nothing and is audited with its error, without the value.
    sm_tags = make_client(server, "secretsmanager")
    assert sm_tags.list_secrets()["SecretList"][0]["Tags"] == [{"Key": "team", "Value": "a"}]
    event = record(find_by_request_id(make_client(server, "cloudtrail"), refused.response["ResponseMetadata"]["RequestId"]))
    assert event["eventName"] == "DescribeSecret" and event["errorCode"] == "ThrottlingException"
    assert "s3cr3t-value" not in str(event)
