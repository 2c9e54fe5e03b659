"""Secrets Manager on Kinko, end to end: boto3's `secretsmanager` client and the AWS CLI v1
against the real server. CRUD, staging labels, deletion and restore, errors, the AWS managed
key `aws/secretsmanager`, and the intrusion scenario of issue 17 (a second lock with a customer
managed key, and the audit of every refused call)."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import os
import subprocess
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from audit_helpers import all_events, record
from authz_helpers import World, identity_statement, policy, statement, unique
from conftest import REGION, VENV_BIN, _record_request_id
from kinko_server import client_config, make_botocore_session


@pytest.fixture(scope="module")
def world(kinko, kms, account_id):
    return World(kinko, kms, account_id)


@pytest.fixture(scope="module")
def sm(world):
    return world.client("secretsmanager", None)


@pytest.fixture(scope="module")
def trail(world):
    return world.client("cloudtrail", None)


def code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


def error_of(fn, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        fn(*args, **kwargs)
    return code(info.value), info.value.response["Error"].get("Message", "")


def events_named(trail, name: str) -> list[dict]:
    return [record(e) for e in all_events(trail, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])]


# --- CRUD --------------------------------------------------------------------------------------


def test_create_get_describe_and_the_arn_suffix(sm, observed_secrets):
    name = unique("db/password")
    value = "hunter2-" + uuid.uuid4().hex
    observed_secrets.append(value.encode())
    created = sm.create_secret(Name=name, SecretString=value, Description="the db")
    assert created["Name"] == name
    arn = created["ARN"]
    prefix = f"arn:aws:secretsmanager:{REGION}:"
    assert arn.startswith(prefix) and arn.split(":secret:")[1].startswith(name + "-")
    suffix = arn.rsplit("-", 1)[1]
    assert len(suffix) == 6 and suffix.isalnum()
    for secret_id in (name, arn, arn.rsplit("-", 1)[0]):
        got = sm.get_secret_value(SecretId=secret_id)
        assert got["SecretString"] == value
        assert got["ARN"] == arn
        assert got["VersionId"] == created["VersionId"]
        assert got["VersionStages"] == ["AWSCURRENT"]
    described = sm.describe_secret(SecretId=name)
    assert described["Description"] == "the db"
    assert described["VersionIdsToStages"] == {created["VersionId"]: ["AWSCURRENT"]}
    assert "KmsKeyId" not in described


def test_binary_value_and_the_size_limit(sm):
    name = unique("bin")
    blob = os.urandom(1024)
    sm.create_secret(Name=name, SecretBinary=blob)
    assert sm.get_secret_value(SecretId=name)["SecretBinary"] == blob
    c, _ = error_of(sm.put_secret_value, SecretId=name, SecretString="x" * 65537)
    assert c == "InvalidParameterException"
    sm.put_secret_value(SecretId=name, SecretString="y" * 65536)
    assert len(sm.get_secret_value(SecretId=name)["SecretString"]) == 65536


def test_staging_labels_move_as_aws_moves_them(sm):
    name = unique("rot")
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="two")["VersionId"]
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "one"
    v3 = sm.put_secret_value(SecretId=name, SecretString="three", VersionStages=["AWSPENDING"])["VersionId"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "two"
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")["SecretString"] == "three"
    # Moving AWSCURRENT needs RemoveFromVersionId naming its holder.
    c, m = error_of(sm.update_secret_version_stage, SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v3)
    assert c == "InvalidParameterException" and v2 in m
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v3, RemoveFromVersionId=v2)
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages[v3] == ["AWSPENDING", "AWSCURRENT"] or sorted(stages[v3]) == ["AWSCURRENT", "AWSPENDING"]
    assert stages[v2] == ["AWSPREVIOUS"]
    assert v1 not in stages
    listed = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    assert {v["VersionId"] for v in listed} == {v1, v2, v3}
    assert {v["VersionId"] for v in sm.list_secret_version_ids(SecretId=name)["Versions"]} == {v2, v3}
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == "one"


def test_client_request_token_is_idempotent(sm):
    name = unique("idem")
    token = str(uuid.uuid4())
    sm.create_secret(Name=name, SecretString="a")
    first = sm.put_secret_value(SecretId=name, SecretString="b", ClientRequestToken=token)
    again = sm.put_secret_value(SecretId=name, SecretString="b", ClientRequestToken=token)
    assert first["VersionId"] == again["VersionId"] == token
    assert len(sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]) == 2
    c, _ = error_of(sm.put_secret_value, SecretId=name, SecretString="c", ClientRequestToken=token)
    assert c == "ResourceExistsException"


def test_list_filters_sort_paging_and_tags(sm):
    prefix = unique("list")
    names = [f"{prefix}/{i}" for i in range(5)]
    for i, n in enumerate(names):
        sm.create_secret(Name=n, SecretString="v", Tags=[{"Key": "team", "Value": f"t{i % 2}"}])
    listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [prefix]}])["SecretList"]
    assert [s["Name"] for s in listed] == names
    desc = sm.list_secrets(Filters=[{"Key": "name", "Values": [prefix]}], SortOrder="desc")["SecretList"]
    assert [s["Name"] for s in desc] == names[::-1]
    page = sm.list_secrets(Filters=[{"Key": "name", "Values": [prefix]}], MaxResults=2)
    assert len(page["SecretList"]) == 2 and "NextToken" in page
    seen = [s["Name"] for s in page["SecretList"]]
    while "NextToken" in page:
        page = sm.list_secrets(Filters=[{"Key": "name", "Values": [prefix]}], MaxResults=2, NextToken=page["NextToken"])
        seen += [s["Name"] for s in page["SecretList"]]
    assert seen == names
    both = sm.list_secrets(Filters=[{"Key": "name", "Values": [prefix]}, {"Key": "tag-value", "Values": ["t1"]}])
    assert [s["Name"] for s in both["SecretList"]] == names[1::2]
    sm.tag_resource(SecretId=names[0], Tags=[{"Key": "env", "Value": "prod"}])
    sm.untag_resource(SecretId=names[0], TagKeys=["team"])
    assert sm.describe_secret(SecretId=names[0])["Tags"] == [{"Key": "env", "Value": "prod"}]
    c, _ = error_of(sm.tag_resource, SecretId=names[0], Tags=[{"Key": "aws:x", "Value": "y"}])
    assert c == "InvalidParameterException"


def test_batch_get_secret_value(sm):
    a, b = unique("batch"), unique("batch")
    sm.create_secret(Name=a, SecretString="A")
    sm.create_secret(Name=b, SecretString="B")
    missing = unique("missing")
    out = sm.batch_get_secret_value(SecretIdList=[a, b, missing])
    assert sorted(v["SecretString"] for v in out["SecretValues"]) == ["A", "B"]
    assert [(e["SecretId"], e["ErrorCode"]) for e in out["Errors"]] == [(missing, "ResourceNotFoundException")]


def test_update_secret_with_a_new_key_reencrypts_the_labelled_versions(sm, kms, trail):
    name = unique("rekey")
    v1 = sm.create_secret(Name=name, SecretString="first")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="second")["VersionId"]
    cmk = kms.create_key(Description="secrets cmk")["KeyMetadata"]
    sm.update_secret(SecretId=name, KmsKeyId=cmk["KeyId"], Description="now under a cmk")
    described = sm.describe_secret(SecretId=name)
    assert described["KmsKeyId"] == cmk["KeyId"] and described["Description"] == "now under a cmk"
    versions = sm.list_secret_version_ids(SecretId=name)["Versions"]
    assert {v["VersionId"]: v["KmsKeyIds"] for v in versions} == {v1: [cmk["Arn"]], v2: [cmk["Arn"]]}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "second"
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == "first"
    # Disabling the CMK makes the secret unreadable: the value is under that key.
    kms.disable_key(KeyId=cmk["KeyId"])
    c, _ = error_of(sm.get_secret_value, SecretId=name)
    assert c == "DecryptionFailure"
    kms.enable_key(KeyId=cmk["KeyId"])
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "second"


def test_delete_restore_and_force_delete(sm):
    name = unique("del")
    sm.create_secret(Name=name, SecretString="v")
    c, _ = error_of(sm.delete_secret, SecretId=name, RecoveryWindowInDays=6)
    assert c == "InvalidParameterException"
    c, _ = error_of(sm.delete_secret, SecretId=name, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    assert c == "InvalidParameterException"
    out = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert out["Name"] == name and "DeletionDate" in out
    for fn, kwargs in (
        (sm.get_secret_value, {}),
        (sm.put_secret_value, {"SecretString": "w"}),
        (sm.update_secret, {"Description": "d"}),
    ):
        c, m = error_of(fn, SecretId=name, **kwargs)
        assert c == "InvalidRequestException" and "marked for deletion" in m
    assert "DeletedDate" in sm.describe_secret(SecretId=name)
    assert name not in [s["Name"] for s in sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]]
    assert name in [
        s["Name"] for s in sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}], IncludePlannedDeletion=True)["SecretList"]
    ]
    c, _ = error_of(sm.create_secret, Name=name, SecretString="again")
    assert c == "InvalidRequestException"
    sm.restore_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    c, _ = error_of(sm.describe_secret, SecretId=name)
    assert c == "ResourceNotFoundException"
    sm.create_secret(Name=name, SecretString="reborn")


def test_errors(sm):
    name = unique("err")
    sm.create_secret(Name=name, SecretString="v")
    assert error_of(sm.create_secret, Name=name, SecretString="v")[0] == "ResourceExistsException"
    assert error_of(sm.get_secret_value, SecretId=unique("nope"))[0] == "ResourceNotFoundException"
    assert error_of(sm.get_secret_value, SecretId=name, VersionStage="NOPE")[0] == "ResourceNotFoundException"
    assert error_of(sm.create_secret, Name="bad name!", SecretString="v")[0] == "InvalidParameterException"
    c, m = error_of(sm.replicate_secret_to_regions, SecretId=name, AddReplicaRegions=[{"Region": "eu-west-1"}])
    assert c == "UnsupportedOperationException" and "ReplicateSecretToRegions" in m
    c, _ = error_of(sm.create_secret, Name=unique("k"), SecretString="v", KmsKeyId="alias/does-not-exist")
    assert c == "EncryptionFailure"


def test_get_random_password(sm):
    p = sm.get_random_password(PasswordLength=40, ExcludePunctuation=True)["RandomPassword"]
    assert len(p) == 40 and p.isalnum()
    assert any(c.isdigit() for c in p) and any(c.isupper() for c in p) and any(c.islower() for c in p)
    q = sm.get_random_password(PasswordLength=12, ExcludeCharacters="abcdefghijklmnopqrstuvwxyz")["RandomPassword"]
    assert len(q) == 12 and not any(c.islower() for c in q)
    assert error_of(sm.get_random_password, PasswordLength=5000)[0] == "InvalidParameterException"


# --- the AWS managed key -----------------------------------------------------------------------


def test_first_uses_at_once_make_one_managed_key(kinko):
    """Many CreateSecret calls at once, each the first use of aws/secretsmanager in a region
    nobody else uses: one managed key, the one the alias names, and no unused key without it."""
    region = "ap-southeast-7"

    def client(service):
        botocore_session = make_botocore_session(kinko)
        botocore_session.register("after-call", _record_request_id)
        session = boto3.session.Session(botocore_session=botocore_session)
        return session.client(service, region_name=region, endpoint_url=kinko.endpoint, config=client_config())

    clients = [client("secretsmanager") for _ in range(12)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(clients)) as pool:
        arns = list(pool.map(lambda c: c.create_secret(Name=unique("race"), SecretString="v")["ARN"], clients))
    assert len(set(arns)) == len(clients)
    kms = client("kms")
    managed = [
        k["KeyId"]
        for k in kms.list_keys(Limit=1000)["Keys"]
        if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyManager"] == "AWS"
    ]
    alias = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases(Limit=100)["Aliases"]}
    assert managed == [alias["alias/aws/secretsmanager"]], (managed, alias)
    for c, arn in zip(clients, arns):
        assert c.get_secret_value(SecretId=arn)["SecretString"] == "v"


def test_naming_the_managed_alias_makes_the_key_on_first_use(kinko):
    """UpdateSecret (and CreateSecret) naming alias/aws/secretsmanager where no secret used it
    yet: the managed key is made then, as on AWS, and the secret is resealed under it."""
    region = "ca-west-1"

    def client(service):
        botocore_session = make_botocore_session(kinko)
        botocore_session.register("after-call", _record_request_id)
        session = boto3.session.Session(botocore_session=botocore_session)
        return session.client(service, region_name=region, endpoint_url=kinko.endpoint, config=client_config())

    sm, kms = client("secretsmanager"), client("kms")
    cmk = kms.create_key(Description="customer managed")["KeyMetadata"]["KeyId"]
    arn = sm.create_secret(Name=unique("named-managed"), SecretString="v1", KmsKeyId=cmk)["ARN"]
    assert "alias/aws/secretsmanager" not in {a["AliasName"] for a in kms.list_aliases(Limit=100)["Aliases"]}
    sm.update_secret(SecretId=arn, KmsKeyId="alias/aws/secretsmanager")
    managed = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert managed["KeyManager"] == "AWS"
    assert sm.describe_secret(SecretId=arn)["KmsKeyId"].endswith("alias/aws/secretsmanager") or \
        sm.describe_secret(SecretId=arn)["KmsKeyId"] in (managed["KeyId"], managed["Arn"])
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "v1"


def test_the_managed_key_is_made_on_first_use_and_cannot_be_managed(sm, kms, account_id):
    sm.create_secret(Name=unique("managed"), SecretString="v")
    md = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert md["KeyManager"] == "AWS"
    assert md["Description"] == "Default key that protects my Secrets Manager data when no other key is defined"
    assert md["KeyState"] == "Enabled"
    key_id = md["KeyId"]
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases["alias/aws/secretsmanager"] == key_id
    assert key_id in {k["KeyId"] for k in kms.list_keys(Limit=1000)["Keys"]}
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    doc = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert "kms:ViaService" in json.dumps(doc)
    for fn, kwargs in (
        (kms.put_key_policy, {"PolicyName": "default", "Policy": json.dumps(policy(statement("Allow", {"AWS": f"arn:aws:iam::{account_id}:root"}, "kms:*")))}),
        (kms.disable_key, {}),
        (kms.schedule_key_deletion, {"PendingWindowInDays": 7}),
        (kms.tag_resource, {"Tags": [{"TagKey": "a", "TagValue": "b"}]}),
        (kms.disable_key_rotation, {}),
        (kms.update_key_description, {"Description": "mine now"}),
    ):
        c, _ = error_of(fn, KeyId=key_id, **kwargs)
        assert c == "AccessDeniedException", fn
    for fn, kwargs in (
        (kms.update_alias, {"AliasName": "alias/aws/secretsmanager", "TargetKeyId": kms.create_key()["KeyMetadata"]["KeyId"]}),
        (kms.delete_alias, {"AliasName": "alias/aws/secretsmanager"}),
        (kms.create_alias, {"AliasName": "alias/aws/mine", "TargetKeyId": kms.create_key()["KeyMetadata"]["KeyId"]}),
    ):
        assert error_of(fn, **kwargs)[0] in ("InvalidAliasNameException", "NotFoundException", "AccessDeniedException")
    assert kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]["KeyId"] == key_id
    # Used directly, outside the service, the key refuses.
    assert error_of(kms.encrypt, KeyId=key_id, Plaintext=b"x")[0] == "AccessDeniedException"


# --- the intrusion scenario --------------------------------------------------------------------


def test_intrusion_scenario(world, sm, kms, trail, account_id):
    """P may only call GetSecretValue. It reads the secret under aws/secretsmanager, but not the
    one under a customer managed key whose policy does not allow it. A principal with kms:Decrypt
    but no Secrets Manager permission reads neither. A direct Decrypt of the wrapped data key,
    outside the service, is refused by the managed key's kms:ViaService condition. The audit
    shows every refused call."""
    root = f"arn:aws:iam::{account_id}:root"
    cmk = kms.create_key(
        Description="second lock",
        Policy=json.dumps(policy(statement("Allow", {"AWS": root}, "kms:*"))),
        BypassPolicyLockoutSafetyCheck=False,
    )["KeyMetadata"]
    # The CMK's policy names only the root: no delegation to IAM, so identity policies do not
    # reach it, and P is not allowed.
    default_name, locked_name = unique("app/default"), unique("app/locked")
    sm.create_secret(Name=default_name, SecretString="default-protected")
    sm.create_secret(Name=locked_name, SecretString="cmk-protected", KmsKeyId=cmk["Arn"])

    p = world.user(policy(identity_statement("Allow", "secretsmanager:GetSecretValue")), prefix="p")
    p_sm = p.client("secretsmanager")
    assert p_sm.get_secret_value(SecretId=default_name)["SecretString"] == "default-protected"
    c, m = error_of(p_sm.get_secret_value, SecretId=locked_name)
    assert (c, m) == ("AccessDeniedException", "Access to KMS is not allowed")
    # P can do nothing else with Secrets Manager.
    assert error_of(p_sm.describe_secret, SecretId=default_name)[0] == "AccessDeniedException"

    d = world.user(policy(identity_statement("Allow", "kms:Decrypt")), prefix="d")
    d_sm = d.client("secretsmanager")
    for name in (default_name, locked_name):
        c, m = error_of(d_sm.get_secret_value, SecretId=name)
        assert c == "AccessDeniedException" and "secretsmanager:GetSecretValue" in m

    # A direct Decrypt of the wrapped data key, outside the service: refused by kms:ViaService,
    # even for the account's root. The wrapped key is taken from the store the way an intruder
    # with a copy of the database would.
    wrapped = wrapped_data_key(world.kinko, default_name)
    context = {"SecretARN": sm.describe_secret(SecretId=default_name)["ARN"], "SecretVersionId": sm.get_secret_value(SecretId=default_name)["VersionId"]}
    for client in (kms, d.kms):
        c, _ = error_of(client.decrypt, CiphertextBlob=wrapped, EncryptionContext=context)
        assert c == "AccessDeniedException"

    # The audit: P's refused GetSecretValue on the locked secret, and beside it the refused KMS
    # Decrypt made on P's behalf (invokedBy secretsmanager); D's refused GetSecretValue calls;
    # the direct Decrypts refused.
    sm_events = [e for e in events_named(trail, "GetSecretValue") if e.get("errorCode")]
    assert any(e["userIdentity"]["arn"] == p.arn and e["eventSource"] == "secretsmanager.amazonaws.com" for e in sm_events)
    assert sum(1 for e in sm_events if e["userIdentity"]["arn"] == d.arn) == 2
    decrypts = [e for e in events_named(trail, "Decrypt") if e.get("errorCode") == "AccessDeniedException"]
    via = [e for e in decrypts if e["userIdentity"].get("invokedBy") == "secretsmanager.amazonaws.com"]
    assert any(e["userIdentity"]["arn"] == p.arn for e in via)
    for e in via:
        assert e["sourceIPAddress"] == "secretsmanager.amazonaws.com"
        assert e["userAgent"] == "secretsmanager.amazonaws.com"
        assert e["eventSource"] == "kms.amazonaws.com"
        assert e["requestParameters"]["encryptionContext"]["SecretARN"].startswith("arn:aws:secretsmanager:")
    direct = [e for e in decrypts if "invokedBy" not in e["userIdentity"]]
    assert any(e["userIdentity"]["arn"] == d.arn for e in direct)
    assert any(e["userIdentity"]["type"] == "Root" for e in direct)
    # A successful read also leaves its KMS Decrypt on P's behalf.
    ok = [e for e in events_named(trail, "Decrypt") if not e.get("errorCode") and e["userIdentity"].get("invokedBy")]
    assert any(e["userIdentity"]["arn"] == p.arn for e in ok)


def wrapped_data_key(kinko, name: str) -> bytes:
    """The wrapped data key of `name`'s current version, read from the SQLite store."""
    import sqlite3

    db = next(kinko.data_dir.glob("*.db"), None) or next(kinko.data_dir.rglob("*.sqlite*"))
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute(
            "SELECT v.wrapped_key FROM secret_versions v JOIN secrets s ON s.arn = v.secret_arn "
            "WHERE s.name = ? AND (',' || v.stages || ',') LIKE '%,AWSCURRENT,%'",
            (name,),
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return bytes(row[0])


# --- the audit ---------------------------------------------------------------------------------


def test_every_call_is_audited_and_no_value_is_recorded(sm, trail):
    name = unique("audited")
    value = "never-in-the-trail-" + uuid.uuid4().hex
    sm.create_secret(Name=name, SecretString=value)
    rid = sm.get_secret_value(SecretId=name)["ResponseMetadata"]["RequestId"]
    events = [record(e) for e in all_events(trail)]
    mine = [e for e in events if e["requestID"] == rid]
    assert len(mine) == 1 and mine[0]["eventSource"] == "secretsmanager.amazonaws.com"
    assert mine[0]["requestParameters"] == {"secretId": name}
    creates = [e for e in events if e["eventName"] == "CreateSecret" and e["requestParameters"].get("name") == name]
    assert len(creates) == 1 and creates[0]["readOnly"] is False
    assert value not in json.dumps(events)


# --- the AWS CLI -------------------------------------------------------------------------------


def test_aws_cli(kinko, tmp_path):
    aws = VENV_BIN / "aws"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(kinko.credentials_file),
        AWS_CONFIG_FILE=str(kinko.config_file),
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
    )

    def cli(*args):
        p = subprocess.run(
            [str(aws), "--endpoint-url", kinko.endpoint, "--output", "json", "secretsmanager", *args],
            env=env, capture_output=True, text=True, timeout=60,
        )
        return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else None), p.stderr

    name = unique("cli")
    rc, out, err = cli("create-secret", "--name", name, "--secret-string", '{"user":"app","password":"pw"}')
    assert rc == 0, err
    rc, out, err = cli("get-secret-value", "--secret-id", name)
    assert rc == 0, err
    assert json.loads(out["SecretString"]) == {"user": "app", "password": "pw"}
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01binary")
    rc, out, err = cli("put-secret-value", "--secret-id", name, "--secret-binary", f"fileb://{blob}")
    assert rc == 0, err
    rc, out, err = cli("get-secret-value", "--secret-id", name)
    assert rc == 0 and base64.b64decode(out["SecretBinary"]) == b"\x00\x01binary", err
    rc, out, err = cli("delete-secret", "--secret-id", name, "--force-delete-without-recovery")
    assert rc == 0, err
    rc, out, err = cli("describe-secret", "--secret-id", name)
    assert rc != 0 and "ResourceNotFoundException" in err


# --- the deletion job --------------------------------------------------------------------------


def test_the_scheduler_deletes_a_secret_when_its_recovery_window_ends(tmp_path):
    import boto3

    from kinko_server import client_config, make_botocore_session
    from test_lifecycle import advance, run_clock_kinko

    config_file = tmp_path / "aws-config"
    config_file.write_text("")
    with run_clock_kinko(tmp_path / "data", tmp_path / "server.log", config_file) as server:
        session = boto3.session.Session(botocore_session=make_botocore_session(server))
        sm = session.client("secretsmanager", region_name=REGION, endpoint_url=server.endpoint, config=client_config())
        kept, doomed = unique("kept"), unique("doomed")
        sm.create_secret(Name=kept, SecretString="k")
        sm.create_secret(Name=doomed, SecretString="d")
        sm.delete_secret(SecretId=kept, RecoveryWindowInDays=7)
        sm.delete_secret(SecretId=doomed, RecoveryWindowInDays=7)
        sm.restore_secret(SecretId=kept)
        advance(server, 6 * 86400)
        assert "DeletedDate" in sm.describe_secret(SecretId=doomed)
        advance(server, 2 * 86400)
        assert error_of(sm.describe_secret, SecretId=doomed)[0] == "ResourceNotFoundException"
        assert sm.get_secret_value(SecretId=kept)["SecretString"] == "k"
        # The name is free again.
        sm.create_secret(Name=doomed, SecretString="again")
        trail = session.client("cloudtrail", region_name=REGION, endpoint_url=server.endpoint, config=client_config())
        ends = events_named(trail, "EndSecretDeletion")
        assert len(ends) == 1 and ends[0]["resources"][0]["ARN"].split(":secret:")[1].startswith(doomed + "-")
        # The AWS managed key rotates by itself every year.
        kms = session.client("kms", region_name=REGION, endpoint_url=server.endpoint, config=client_config())
        managed = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]["KeyId"]
        assert kms.list_key_rotations(KeyId=managed)["Rotations"] == []
        advance(server, 366 * 86400)
        rotations = kms.list_key_rotations(KeyId=managed)["Rotations"]
        assert [r["RotationType"] for r in rotations] == ["AUTOMATIC"]
        assert sm.get_secret_value(SecretId=kept)["SecretString"] == "k"


def test_identity_policies_see_the_secret_condition_keys(world, sm):
    """secretsmanager:ResourceTag/… and secretsmanager:SecretId reach identity policies."""
    team_a, team_b = unique("team-a"), unique("team-b")
    sm.create_secret(Name=team_a, SecretString="a", Tags=[{"Key": "team", "Value": "a"}])
    sm.create_secret(Name=team_b, SecretString="b", Tags=[{"Key": "team", "Value": "b"}])
    by_tag = world.user(
        policy(identity_statement("Allow", "secretsmanager:GetSecretValue", condition={"StringEquals": {"secretsmanager:ResourceTag/team": "a"}})),
        prefix="tag",
    ).client("secretsmanager")
    assert by_tag.get_secret_value(SecretId=team_a)["SecretString"] == "a"
    assert error_of(by_tag.get_secret_value, SecretId=team_b)[0] == "AccessDeniedException"
    arn_b = sm.describe_secret(SecretId=team_b)["ARN"]
    by_id = world.user(
        policy(identity_statement("Allow", "secretsmanager:GetSecretValue", condition={"StringEquals": {"secretsmanager:SecretId": arn_b}})),
        prefix="id",
    ).client("secretsmanager")
    assert by_id.get_secret_value(SecretId=team_b)["SecretString"] == "b"
    assert error_of(by_id.get_secret_value, SecretId=team_a)[0] == "AccessDeniedException"
    # A resource ARN pattern in the policy's Resource works too; a missing secret the caller may
    # not read is AccessDenied, not NotFound.
    by_resource = world.user(
        policy(identity_statement("Allow", "secretsmanager:GetSecretValue", resource=arn_b.rsplit("-", 1)[0] + "-??????")),
        prefix="res",
    ).client("secretsmanager")
    assert by_resource.get_secret_value(SecretId=team_b)["SecretString"] == "b"
    assert error_of(by_resource.get_secret_value, SecretId=team_a)[0] == "AccessDeniedException"
    assert error_of(by_resource.get_secret_value, SecretId=unique("nothing"))[0] == "AccessDeniedException"


def test_identity_policies_see_version_stage_and_version_id(world, sm):
    """secretsmanager:VersionStage and secretsmanager:VersionId on GetSecretValue come from the
    request: a user allowed only AWSCURRENT is refused AWSPREVIOUS, and the keys are absent when
    the request names no stage or id (so `StringEquals` refuses it, `…IfExists` lets it through)."""
    name = unique("stage-cond")
    v1 = sm.create_secret(Name=name, SecretString="old")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="new")["VersionId"]
    current_only = world.user(
        policy(identity_statement("Allow", "secretsmanager:GetSecretValue", condition={"StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"}})),
        prefix="stage",
    ).client("secretsmanager")
    assert current_only.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"] == "new"
    c, m = error_of(current_only.get_secret_value, SecretId=name, VersionStage="AWSPREVIOUS")
    assert c == "AccessDeniedException" and "secretsmanager:GetSecretValue" in m
    assert error_of(current_only.get_secret_value, SecretId=name)[0] == "AccessDeniedException"
    assert error_of(current_only.get_secret_value, SecretId=name, VersionId=v2)[0] == "AccessDeniedException"

    if_exists = world.user(
        policy(
            identity_statement(
                "Allow", "secretsmanager:GetSecretValue", condition={"StringEqualsIfExists": {"secretsmanager:VersionStage": "AWSCURRENT"}}
            )
        ),
        prefix="stage-ie",
    ).client("secretsmanager")
    assert if_exists.get_secret_value(SecretId=name)["SecretString"] == "new"
    assert error_of(if_exists.get_secret_value, SecretId=name, VersionStage="AWSPREVIOUS")[0] == "AccessDeniedException"

    one_version = world.user(
        policy(identity_statement("Allow", "secretsmanager:GetSecretValue", condition={"StringEquals": {"secretsmanager:VersionId": v1}})),
        prefix="vid",
    ).client("secretsmanager")
    assert one_version.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == "old"
    assert error_of(one_version.get_secret_value, SecretId=name, VersionId=v2)[0] == "AccessDeniedException"
    assert error_of(one_version.get_secret_value, SecretId=name, VersionStage="AWSPREVIOUS")[0] == "AccessDeniedException"
