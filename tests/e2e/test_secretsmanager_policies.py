"""Secrets Manager resource policies on Kinko, end to end with boto3: Put/Get/Delete/
ValidateResourcePolicy, BlockPublicPolicy, malformed documents, and the policy taking part in
authorization beside the caller's identity policies (either may allow, a Deny in either wins)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from botocore.exceptions import ClientError

from audit_helpers import all_events, record
from authz_helpers import World, identity_statement, policy, statement, unique
from kinko_server import kinko_binary


@pytest.fixture(scope="module")
def world(kinko, kms, account_id):
    return World(kinko, kms, account_id)


@pytest.fixture(scope="module")
def sm(world):
    return world.client("secretsmanager", None)


def error_of(fn, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        fn(*args, **kwargs)
    return info.value.response["Error"]["Code"]


def test_put_get_delete_round_trip(sm, world):
    name = unique("pol")
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    got = sm.get_resource_policy(SecretId=name)
    assert got["ARN"] == arn and got["Name"] == name and "ResourcePolicy" not in got
    doc = json.dumps(policy(statement("Allow", {"AWS": world.root_arn()}, "secretsmanager:GetSecretValue")))
    put = sm.put_resource_policy(SecretId=name, ResourcePolicy=doc)
    assert put["ARN"] == arn and put["Name"] == name
    assert json.loads(sm.get_resource_policy(SecretId=arn)["ResourcePolicy"]) == json.loads(doc)
    deleted = sm.delete_resource_policy(SecretId=name)
    assert deleted["ARN"] == arn
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)
    # Deleting again is not an error; a missing secret is.
    sm.delete_resource_policy(SecretId=name)
    assert error_of(sm.get_resource_policy, SecretId=unique("missing")) == "ResourceNotFoundException"


def test_block_public_policy_and_malformed_documents(sm, account_id):
    name = unique("pub")
    sm.create_secret(Name=name, SecretString="v")
    public = json.dumps(policy(statement("Allow", {"AWS": "*"}, "secretsmanager:GetSecretValue")))
    assert error_of(sm.put_resource_policy, SecretId=name, ResourcePolicy=public, BlockPublicPolicy=True) == "PublicPolicyException"
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)
    # A wildcard confined to the account is not public.
    confined = json.dumps(
        policy(statement("Allow", "*", "secretsmanager:GetSecretValue", condition={"StringEquals": {"aws:PrincipalAccount": account_id}}))
    )
    sm.put_resource_policy(SecretId=name, ResourcePolicy=confined, BlockPublicPolicy=True)
    # Without BlockPublicPolicy a public policy is accepted, as AWS accepts it.
    sm.put_resource_policy(SecretId=name, ResourcePolicy=public)
    assert json.loads(sm.get_resource_policy(SecretId=name)["ResourcePolicy"]) == json.loads(public)
    for bad in ("{not json", json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]})):
        assert error_of(sm.put_resource_policy, SecretId=name, ResourcePolicy=bad) == "MalformedPolicyDocumentException"
    assert json.loads(sm.get_resource_policy(SecretId=name)["ResourcePolicy"]) == json.loads(public)


def test_validate_resource_policy(sm, world):
    fine = json.dumps(policy(statement("Allow", {"AWS": world.root_arn()}, "secretsmanager:GetSecretValue")))
    passed = sm.validate_resource_policy(ResourcePolicy=fine)
    assert passed["PolicyValidationPassed"] is True and passed["ValidationErrors"] == []
    no_principal = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]})
    failed = sm.validate_resource_policy(ResourcePolicy=no_principal)
    assert failed["PolicyValidationPassed"] is False
    assert len(failed["ValidationErrors"]) == 1 and failed["ValidationErrors"][0]["ErrorMessage"]
    public = json.dumps(policy(statement("Allow", "*", "secretsmanager:GetSecretValue")))
    flagged = sm.validate_resource_policy(ResourcePolicy=public)
    assert flagged["PolicyValidationPassed"] is False
    assert [e["CheckName"] for e in flagged["ValidationErrors"]] == ["BLOCK_PUBLIC_POLICY"]
    assert error_of(sm.validate_resource_policy, ResourcePolicy="{nope") == "MalformedPolicyDocumentException"
    name = unique("val")
    sm.create_secret(Name=name, SecretString="v")
    assert sm.validate_resource_policy(SecretId=name, ResourcePolicy=fine)["PolicyValidationPassed"] is True
    assert error_of(sm.validate_resource_policy, SecretId=unique("missing"), ResourcePolicy=fine) == "ResourceNotFoundException"


def test_resource_policy_allows_a_user_without_identity_policies(sm, world):
    name = unique("grant")
    sm.create_secret(Name=name, SecretString="shared-value")
    reader = world.user(None, prefix="rp")
    client = reader.client("secretsmanager")
    assert error_of(client.get_secret_value, SecretId=name) == "AccessDeniedException"
    doc = policy(statement("Allow", {"AWS": reader.arn}, "secretsmanager:GetSecretValue"))
    sm.put_resource_policy(SecretId=name, ResourcePolicy=json.dumps(doc))
    assert client.get_secret_value(SecretId=name)["SecretString"] == "shared-value"
    # Only the action the policy names.
    assert error_of(client.describe_secret, SecretId=name) == "AccessDeniedException"
    # Another user is still refused.
    other = world.user(None, prefix="rpo").client("secretsmanager")
    assert error_of(other.get_secret_value, SecretId=name) == "AccessDeniedException"
    sm.delete_resource_policy(SecretId=name)
    assert error_of(client.get_secret_value, SecretId=name) == "AccessDeniedException"


def test_a_deny_in_the_resource_policy_wins_over_identity_and_root(sm, world):
    name = unique("deny")
    sm.create_secret(Name=name, SecretString="locked")
    user = world.user(policy(identity_statement("Allow", "secretsmanager:*")), prefix="rpd")
    client = user.client("secretsmanager")
    assert client.get_secret_value(SecretId=name)["SecretString"] == "locked"
    doc = policy(
        statement("Deny", {"AWS": user.arn}, "secretsmanager:GetSecretValue"),
        statement("Deny", {"AWS": world.root_arn()}, "secretsmanager:GetSecretValue"),
    )
    sm.put_resource_policy(SecretId=name, ResourcePolicy=json.dumps(doc))
    assert error_of(client.get_secret_value, SecretId=name) == "AccessDeniedException"
    # Other actions the identity policy allows still work.
    assert client.describe_secret(SecretId=name)["Name"] == name
    # The account's root is denied too: an explicit Deny in a resource policy applies to it.
    assert error_of(sm.get_secret_value, SecretId=name) == "AccessDeniedException"
    # An identity Deny wins over a resource policy Allow.
    denied = world.user(policy(identity_statement("Deny", "secretsmanager:GetSecretValue")), prefix="rpx")
    other = unique("deny2")
    sm.create_secret(Name=other, SecretString="x")
    sm.put_resource_policy(
        SecretId=other, ResourcePolicy=json.dumps(policy(statement("Allow", {"AWS": denied.arn}, "secretsmanager:GetSecretValue")))
    )
    assert error_of(denied.client("secretsmanager").get_secret_value, SecretId=other) == "AccessDeniedException"
    # Lifting the Deny restores the root's access.
    sm.delete_resource_policy(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "locked"


def test_policy_changes_and_refusals_are_audited(sm, world):
    trail = world.client("cloudtrail", None)
    name = unique("aud")
    sm.create_secret(Name=name, SecretString="v")
    doc = json.dumps(policy(statement("Allow", {"AWS": world.root_arn()}, "secretsmanager:GetSecretValue")))
    put_id = sm.put_resource_policy(SecretId=name, ResourcePolicy=doc)["ResponseMetadata"]["RequestId"]
    get_id = sm.get_resource_policy(SecretId=name)["ResponseMetadata"]["RequestId"]
    public = json.dumps(policy(statement("Allow", "*", "secretsmanager:GetSecretValue")))
    with pytest.raises(ClientError) as refused:
        sm.put_resource_policy(SecretId=name, ResourcePolicy=public, BlockPublicPolicy=True)
    refused_id = refused.value.response["ResponseMetadata"]["RequestId"]
    events = {e["requestID"]: e for e in (record(x) for x in all_events(trail))}
    put = events[put_id]
    assert put["eventName"] == "PutResourcePolicy" and put["readOnly"] is False
    assert put["requestParameters"]["secretId"] == name
    assert events[get_id]["eventName"] == "GetResourcePolicy" and events[get_id]["readOnly"] is True
    assert events[refused_id]["errorCode"] == "PublicPolicyException"


def explain(kinko, *args: str) -> tuple[int, str]:
    """`kinko authz explain` over the running server's data directory: (exit code, stdout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINKO_")}
    done = subprocess.run(
        [str(kinko_binary()), "authz", "explain", "--data-dir", str(kinko.data_dir), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def test_authz_explain_covers_secrets(kinko, sm, world):
    name = unique("why")
    arn = sm.create_secret(Name=name, SecretString="explained")["ARN"]
    reader = world.user(policy(identity_statement("Allow", "secretsmanager:DescribeSecret")), prefix="why")
    # No resource policy: the identity policy decides, as the server does.
    code, out = explain(kinko, "--principal", reader.arn, "--action", "secretsmanager:GetSecretValue", "--secret", name)
    assert code == 1, out
    assert f"secret {arn} has no resource policy" in out, out
    assert "identity policy p:" in out, out
    assert (
        f"DENIED: User: {reader.arn} is not authorized to perform: secretsmanager:GetSecretValue on resource: {arn} "
        "because no identity-based policy allows the secretsmanager:GetSecretValue action"
    ) in out, out
    assert error_of(reader.client("secretsmanager").get_secret_value, SecretId=name) == "AccessDeniedException"
    code, out = explain(kinko, "--principal", reader.arn, "--action", "secretsmanager:DescribeSecret", "--secret", arn)
    assert code == 0 and f"ALLOWED: {reader.arn} may perform secretsmanager:DescribeSecret" in out, out

    # The secret's resource policy allows the reader to read, and denies it DescribeSecret, which
    # its identity policy allows: a Deny in the resource policy wins.
    doc = policy(
        statement("Allow", {"AWS": reader.arn}, "secretsmanager:GetSecretValue", sid="ReaderMayRead"),
        statement("Deny", {"AWS": reader.arn}, "secretsmanager:DescribeSecret", sid="NoDescribe"),
    )
    sm.put_resource_policy(SecretId=name, ResourcePolicy=json.dumps(doc))
    code, out = explain(kinko, "--principal", reader.arn, "--action", "secretsmanager:GetSecretValue", "--secret", name)
    assert code == 0, out
    assert f"resource policy of {arn}:" in out and 'Statement[0] (Sid "ReaderMayRead") (Allow): applies' in out, out
    assert reader.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"] == "explained"
    code, out = explain(kinko, "--principal", reader.arn, "--action", "secretsmanager:DescribeSecret", "--secret", name)
    assert code == 1, out
    assert 'Statement[1] (Sid "NoDescribe") (Deny): applies' in out, out
    assert f"on resource: {arn} with an explicit deny in a resource-based policy" in out, out
    assert error_of(reader.client("secretsmanager").describe_secret, SecretId=name) == "AccessDeniedException"
    # The account's root: no statement names it, and a root may unless denied.
    code, out = explain(kinko, "--principal", world.root_arn(), "--action", "secretsmanager:DescribeSecret", "--secret", name)
    assert code == 0 and "is its account's root: allowed unless a policy denies" in out, out

    # A missing secret is decided on what was named; --secret goes only with secretsmanager: actions.
    missing = unique("nowhere")
    code, out = explain(kinko, "--principal", reader.arn, "--action", "secretsmanager:GetSecretValue", "--secret", missing)
    assert code == 1 and f"no secret {missing} in {world.account}" in out, out
    code, out = explain(kinko, "--principal", reader.arn, "--action", "kms:Decrypt", "--secret", name)
    assert code != 0, out
    assert "--secret goes with a secretsmanager: action" in out, out
