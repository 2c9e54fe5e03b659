"""IAM and STS through boto3 and the AWS CLI v1 (AWS Query protocol, SigV4 services `iam` and
`sts`): users and their access keys, inline policies, roles with trust policies, AssumeRole
through an assume-role profile, and expired session credentials (on a server of its own with
the insecure test clock)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import pathlib

import boto3
import botocore.exceptions
import pytest

import conftest
from kinko_server import client_config, kinko_binary, make_botocore_session, root_of_trust_args
from test_lifecycle import advance, clear_aws_env, run_clock_kinko

REGION = "us-east-1"
VENV_BIN = pathlib.Path(sys.executable).parent


def _session(kinko, record=True, **credentials):
    botocore_session = make_botocore_session(kinko)
    if record:
        # Checked against the session server's trail at the end of the run.
        botocore_session.register("after-call", conftest._record_request_id)
    session = boto3.session.Session(botocore_session=botocore_session, **credentials)
    return session


def _client(kinko, service, record=True, **credentials):
    return _session(kinko, record, **credentials).client(
        service, region_name=REGION, endpoint_url=kinko.endpoint, config=client_config()
    )


def _creds(key):
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def _code(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def iam(kinko):
    return _client(kinko, "iam")


@pytest.fixture(scope="module")
def sts(kinko):
    return _client(kinko, "sts")


LIST_KEYS = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:ListKeys", "Resource": "*"}]})


@pytest.fixture(scope="module")
def alice(iam):
    user = iam.create_user(UserName="e2e-alice", Path="/e2e/", Tags=[{"Key": "team", "Value": "blue"}])["User"]
    key = iam.create_access_key(UserName="e2e-alice")["AccessKey"]
    # KMS authorizes: the KMS call these tests make to check credentials must be allowed.
    iam.put_user_policy(UserName="e2e-alice", PolicyName="list-keys", PolicyDocument=LIST_KEYS)
    return user, key


def test_root_identity(sts, account_id):
    me = sts.get_caller_identity()
    assert me["Account"] == account_id
    assert me["Arn"] == f"arn:aws:iam::{account_id}:root"
    assert me["UserId"] == account_id


def test_user_and_access_key(kinko, iam, alice, account_id):
    user, key = alice
    assert user["Arn"] == f"arn:aws:iam::{account_id}:user/e2e/e2e-alice"
    assert user["UserId"].startswith("AIDA") and user["Path"] == "/e2e/"
    assert key["AccessKeyId"].startswith("AKIA") and len(key["SecretAccessKey"]) == 40
    assert key["Status"] == "Active" and key["UserName"] == "e2e-alice"
    got = iam.get_user(UserName="E2E-ALICE")["User"]
    assert got["UserName"] == "e2e-alice" and got["Tags"] == [{"Key": "team", "Value": "blue"}]
    names = [u["UserName"] for u in iam.list_users()["Users"]]
    assert "e2e-alice" in names
    keys = iam.list_access_keys(UserName="e2e-alice")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [key["AccessKeyId"]]
    assert "SecretAccessKey" not in keys[0]

    # The user's key works for KMS (its policy allows kms:ListKeys) and STS.
    kms = _client(kinko, "kms", **_creds(key))
    kms.list_keys(Limit=1)
    me = _client(kinko, "sts", **_creds(key)).get_caller_identity()
    assert me["Arn"] == user["Arn"] and me["UserId"] == user["UserId"]
    # GetUser on oneself needs iam:GetUser, as on AWS: alice has none.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _client(kinko, "iam", **_creds(key)).get_user()
    assert _code(e) == ("AccessDenied", 403)


def test_get_user_on_oneself_with_permission(kinko, iam, account_id):
    iam.create_user(UserName="e2e-self")
    key = iam.create_access_key(UserName="e2e-self")["AccessKey"]
    own = f"arn:aws:iam::{account_id}:user/e2e-self"
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": own}]}
    iam.put_user_policy(UserName="e2e-self", PolicyName="get-self", PolicyDocument=json.dumps(policy))
    me = _client(kinko, "iam", **_creds(key)).get_user()["User"]
    assert me["Arn"] == own and me["UserName"] == "e2e-self"


def test_errors(iam, alice):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_user(UserName="e2e-nobody")
    assert _code(e) == ("NoSuchEntity", 404)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_user(UserName="E2E-Alice")
    assert _code(e) == ("EntityAlreadyExists", 409)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.put_user_policy(UserName="e2e-alice", PolicyName="bad", PolicyDocument='{"Statement": 1}')
    assert _code(e) == ("MalformedPolicyDocument", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_user(UserName="e2e-alice")
    assert _code(e) == ("DeleteConflict", 409)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_user(UserName="bad name")
    assert _code(e) == ("ValidationError", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_role(RoleName="e2e-badtrust", AssumeRolePolicyDocument='{"Version":"2012-10-17"}')
    assert _code(e) == ("MalformedPolicyDocument", 400)


def test_access_key_limit_and_deactivation(kinko, iam):
    iam.create_user(UserName="e2e-bob")
    iam.put_user_policy(UserName="e2e-bob", PolicyName="list-keys", PolicyDocument=LIST_KEYS)
    first = iam.create_access_key(UserName="e2e-bob")["AccessKey"]
    second = iam.create_access_key(UserName="e2e-bob")["AccessKey"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_access_key(UserName="e2e-bob")
    assert _code(e) == ("LimitExceeded", 409)

    kms = _client(kinko, "kms", **_creds(first))
    kms.list_keys(Limit=1)
    iam.update_access_key(UserName="e2e-bob", AccessKeyId=first["AccessKeyId"], Status="Inactive")
    statuses = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName="e2e-bob")["AccessKeyMetadata"]}
    assert statuses == {first["AccessKeyId"]: "Inactive", second["AccessKeyId"]: "Active"}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.list_keys(Limit=1)
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _client(kinko, "sts", **_creds(first)).get_caller_identity()
    assert _code(e) == ("InvalidClientTokenId", 403)

    iam.update_access_key(UserName="e2e-bob", AccessKeyId=first["AccessKeyId"], Status="Active")
    kms.list_keys(Limit=1)

    for k in (first, second):
        iam.delete_access_key(UserName="e2e-bob", AccessKeyId=k["AccessKeyId"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.list_keys(Limit=1)
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_access_key(UserName="e2e-bob", AccessKeyId=first["AccessKeyId"])
    assert _code(e) == ("NoSuchEntity", 404)
    iam.delete_user_policy(UserName="e2e-bob", PolicyName="list-keys")
    iam.delete_user(UserName="e2e-bob")


def test_inline_policies_decide_iam_calls(kinko, iam, alice):
    _, key = alice
    as_alice = _client(kinko, "iam", **_creds(key))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_alice.list_users()
    assert _code(e) == ("AccessDenied", 403)

    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["iam:ListUsers", "sts:AssumeRole"], "Resource": "*"}],
    }
    iam.put_user_policy(UserName="e2e-alice", PolicyName="e2e-list", PolicyDocument=json.dumps(document))
    assert iam.list_user_policies(UserName="e2e-alice")["PolicyNames"] == ["e2e-list", "list-keys"]
    got = iam.get_user_policy(UserName="e2e-alice", PolicyName="e2e-list")
    assert got["PolicyDocument"] == document and got["UserName"] == "e2e-alice"
    as_alice.list_users()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_alice.create_user(UserName="e2e-mallory")
    assert _code(e) == ("AccessDenied", 403)


def _trust(principal):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}],
        }
    )


def test_assume_role_profile_and_cli(kinko, iam, alice, account_id, tmp_path):
    user, key = alice
    role = iam.create_role(
        RoleName="e2e-ops",
        AssumeRolePolicyDocument=_trust(user["Arn"]),
        Description="e2e role",
        MaxSessionDuration=7200,
        Tags=[{"Key": "env", "Value": "test"}],
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{account_id}:role/e2e-ops" and role["RoleId"].startswith("AROA")
    assert iam.get_role(RoleName="e2e-ops")["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    assert iam.get_role(RoleName="e2e-ops")["Role"]["MaxSessionDuration"] == 7200
    assert "e2e-ops" in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    iam.put_role_policy(
        RoleName="e2e-ops",
        PolicyName="kms-all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
        ),
    )
    assert iam.list_role_policies(RoleName="e2e-ops")["PolicyNames"] == ["kms-all"]

    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[alice]\naws_access_key_id = {key['AccessKeyId']}\naws_secret_access_key = {key['SecretAccessKey']}\n"
    )
    config = tmp_path / "config"
    config.write_text(
        f"[profile e2e-role]\nrole_arn = {role['Arn']}\nsource_profile = alice\nrole_session_name = e2e-session\n"
        f"region = {REGION}\nendpoint_url = {kinko.endpoint}\n"
        f"[profile alice]\nregion = {REGION}\nendpoint_url = {kinko.endpoint}\n"
    )
    botocore_session = make_botocore_session(kinko)
    botocore_session.set_config_variable("credentials_file", str(credentials))
    botocore_session.set_config_variable("config_file", str(config))
    botocore_session.set_config_variable("profile", "e2e-role")
    botocore_session.register("after-call", conftest._record_request_id)
    session = boto3.session.Session(botocore_session=botocore_session)
    me = session.client("sts", config=client_config()).get_caller_identity()
    assumed = f"arn:aws:sts::{account_id}:assumed-role/e2e-ops/e2e-session"
    assert me["Arn"] == assumed
    assert me["UserId"] == f"{role['RoleId']}:e2e-session"
    session.client("kms", config=client_config()).list_keys(Limit=1)

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(credentials),
        AWS_CONFIG_FILE=str(config),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
    )
    p = subprocess.run(
        [str(VENV_BIN / "aws"), "--profile", "e2e-role", "--output", "json", "sts", "get-caller-identity"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["Arn"] == assumed
    p = subprocess.run(
        [str(VENV_BIN / "aws"), "--profile", "alice", "--output", "json", "iam", "get-user", "--user-name", "e2e-nobody"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # alice has no iam:GetUser permission: AccessDenied in IAM's form, through the CLI too.
    assert p.returncode != 0 and "(AccessDenied)" in p.stderr

    # Out of the role's range.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _client(kinko, "sts", **_creds(key)).assume_role(
            RoleArn=role["Arn"], RoleSessionName="too-long", DurationSeconds=7201
        )
    assert _code(e) == ("ValidationError", 400)


def test_trust_policy_decides(kinko, iam, alice, account_id):
    user, key = alice
    other = iam.create_role(
        RoleName="e2e-other", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{account_id}:user/someone-else")
    )["Role"]
    as_alice = _client(kinko, "sts", **_creds(key))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_alice.assume_role(RoleArn=other["Arn"], RoleSessionName="nope")
    assert _code(e) == ("AccessDenied", 403)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_alice.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/e2e-missing", RoleSessionName="nope")
    assert _code(e) == ("AccessDenied", 403)

    # Trust delegated to the account: alice's identity policy (sts:AssumeRole on *) completes it.
    account_role = iam.create_role(
        RoleName="e2e-account", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{account_id}:root")
    )["Role"]
    creds = as_alice.assume_role(RoleArn=account_role["Arn"], RoleSessionName="ok")["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    iam.delete_user_policy(UserName="e2e-alice", PolicyName="e2e-list")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_alice.assume_role(RoleArn=account_role["Arn"], RoleSessionName="ok2")
    assert _code(e) == ("AccessDenied", 403)

    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_role(RoleName="e2e-ops")
    assert _code(e) == ("DeleteConflict", 409)
    iam.delete_role(RoleName="e2e-other")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_role(RoleName="e2e-other")
    assert _code(e) == ("NoSuchEntity", 404)


def test_account_create(kinko, sts, account_id, tmp_path):
    """`kinko account create` adds an account beside the running server's and writes its root key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINKO_")}
    root_args = root_of_trust_args(kinko.data_dir, env)
    out = tmp_path / "new-account-credentials"
    p = subprocess.run(
        [str(kinko_binary()), "account", "create", "--data-dir", str(kinko.data_dir), "--out", str(out), *root_args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    import configparser

    cp = configparser.ConfigParser()
    cp.read(out)
    creds = {
        "aws_access_key_id": cp["default"]["aws_access_key_id"],
        "aws_secret_access_key": cp["default"]["aws_secret_access_key"],
    }
    me = _client(kinko, "sts", **creds).get_caller_identity()
    assert me["Account"] != account_id
    assert me["Arn"] == f"arn:aws:iam::{me['Account']}:root"
    assert me["Account"] in p.stdout
    # Its IAM is its own: the first account's users are not visible.
    names = [u["UserName"] for u in _client(kinko, "iam", **creds).list_users()["Users"]]
    assert "e2e-alice" not in names


def test_expired_session_credentials_are_refused(tmp_path):
    clear_aws_env()
    config_file = tmp_path / "aws-config"
    config_file.write_text("")
    with run_clock_kinko(tmp_path / "data", tmp_path / "server.log", config_file) as server:
        iam = _client(server, "iam", False)
        account = _client(server, "sts", False).get_caller_identity()["Account"]
        role = iam.create_role(
            RoleName="short", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{account}:root")
        )["Role"]
        iam.put_role_policy(RoleName="short", PolicyName="list-keys", PolicyDocument=LIST_KEYS)
        creds = _client(server, "sts", False).assume_role(RoleArn=role["Arn"], RoleSessionName="brief", DurationSeconds=900)[
            "Credentials"
        ]
        temporary = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
        kms = _client(server, "kms", False, **temporary)
        kms.list_keys(Limit=1)
        sts = _client(server, "sts", False, **temporary)
        assert sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{account}:assumed-role/short/brief"

        # A wrong token for the same key is refused.
        forged = dict(temporary, aws_session_token=creds["SessionToken"][:-4] + "AAAA")
        with pytest.raises(botocore.exceptions.ClientError) as e:
            _client(server, "kms", False, **forged).list_keys(Limit=1)
        assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"

        advance(server, 901)
        with pytest.raises(botocore.exceptions.ClientError) as e:
            kms.list_keys(Limit=1)
        assert e.value.response["Error"]["Code"] == "ExpiredTokenException"
        with pytest.raises(botocore.exceptions.ClientError) as e:
            sts.get_caller_identity()
        assert _code(e) == ("ExpiredToken", 400)
