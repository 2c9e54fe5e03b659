"""DryRun and regional ARNs through boto3 (issue 21).

DryRun: the request is validated and authorized and changes nothing; boto3 sees the modeled
DryRunOperationException, and CloudTrail's LookupEvents shows the call with that errorCode.
A key ARN of another region than the client's names nothing, as on AWS."""

from __future__ import annotations

import pytest

from audit_helpers import find_by_request_id, make_client, record
from kinko_helpers import expect_error, key_arn

WOULD_SUCCEED = "The request would have succeeded, but the DryRun option is set."


@pytest.fixture(scope="module")
def cloudtrail(kinko):
    return make_client(kinko, "cloudtrail")


def test_encrypt_dry_run_is_modeled_and_recorded(kms, key, cloudtrail):
    with pytest.raises(kms.exceptions.DryRunOperationException) as ei:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"never encrypted", DryRun=True)
    error = ei.value.response["Error"]
    assert error["Message"] == WOULD_SUCCEED
    request_id = ei.value.response["ResponseMetadata"]["RequestId"]
    event = record(
        find_by_request_id(
            cloudtrail,
            request_id,
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}],
        )
    )
    assert event["errorCode"] == "DryRunOperationException"
    assert "plaintext" not in str(event["requestParameters"]).lower()


def test_data_key_pair_dry_run(kms, key):
    expect_error(
        "DryRunOperationException",
        kms.generate_data_key_pair,
        KeyId=key["KeyId"],
        KeyPairSpec="ECC_NIST_P256",
        DryRun=True,
    )


def test_create_grant_dry_run_makes_no_grant(kms, new_key, account_id):
    md = new_key(Description="dry run grants")
    expect_error(
        "DryRunOperationException",
        kms.create_grant,
        KeyId=md["KeyId"],
        GranteePrincipal=f"arn:aws:iam::{account_id}:user/dry",
        Operations=["Decrypt"],
        DryRun=True,
    )
    assert kms.list_grants(KeyId=md["KeyId"])["Grants"] == []


def test_decrypt_ignore_ciphertext(kms, key):
    expect_error(
        "DryRunOperationException",
        kms.decrypt,
        KeyId=key["KeyId"],
        CiphertextBlob=b"not a ciphertext at all",
        DryRun=True,
        DryRunModifiers=["IGNORE_CIPHERTEXT"],
    )


def test_a_key_arn_of_another_region_is_not_found(kms, key, account_id):
    kms.describe_key(KeyId=key_arn("us-east-1", account_id, key["KeyId"]))
    err = expect_error(
        "NotFoundException", kms.describe_key, KeyId=key_arn("us-west-2", account_id, key["KeyId"])
    )
    assert err.response["Error"]["Message"] == "Invalid arn us-west-2"
