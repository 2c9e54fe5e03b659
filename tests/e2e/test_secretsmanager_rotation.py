"""Secrets Manager rotation on Kinko, end to end: RotateSecret calls a rotation function over HTTP
(`kinko serve --rotation-function ARN=URL`), which rotates a real PostgreSQL role's password
(127.0.0.1:5432) through Kinko's Secrets Manager API with boto3, the four steps of AWS's
single-user template: createSecret (PutSecretValue AWSPENDING), setSecret (ALTER ROLE),
testSecret, finishSecret (UpdateSecretVersionStage AWSCURRENT).

What is checked about the password: the test server trusts every login on 127.0.0.1, so a
login with the password would prove nothing. Instead the role's stored verifier
(`pg_authid.rolpassword`, SCRAM-SHA-256) is recomputed from a candidate password with its salt
and iteration count (RFC 5802/7677: StoredKey = H(HMAC(SaltedPassword, "Client Key")),
ServerKey = HMAC(SaltedPassword, "Server Key")); it matches the new password and not the old.
The function calls Kinko with the account's root credentials (no IAM user of its own)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import secrets
import subprocess
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError

from audit_helpers import all_events, make_client, record, signed_call
from kinko_server import _free_port, run_kinko

PG = ["psql", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", "test", "-v", "ON_ERROR_STOP=1", "-Atc"]
GOOD = "arn:aws:lambda:us-east-1:111122223333:function:pg-rotation"
BAD = "arn:aws:lambda:us-east-1:111122223333:function:broken-rotation"
GONE = "arn:aws:lambda:us-east-1:111122223333:function:unreachable-rotation"


def psql(sql: str) -> str:
    return subprocess.run([*PG, sql], check=True, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}).stdout.strip()


def scram_matches(verifier: str, password: str) -> bool:
    """Whether PostgreSQL's SCRAM-SHA-256 verifier was made from `password`."""
    method, rest = verifier.split("$", 1)
    assert method == "SCRAM-SHA-256", "the role's password is not stored as SCRAM"
    iter_salt, keys = rest.split("$", 1)
    iterations, salt = iter_salt.split(":", 1)
    stored_key, server_key = keys.split(":", 1)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(hashlib.sha256(client_key).digest()).decode(), stored_key) and hmac.compare_digest(
        base64.b64encode(hmac.new(salted, b"Server Key", hashlib.sha256).digest()).decode(), server_key
    )


def verifier(role: str) -> str:
    return psql(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'")


class Function:
    """A rotation function served over HTTP; `fail_at` makes a step answer 500."""

    def __init__(self, fail_at: str | None = None):
        self.fail_at = fail_at
        self.sm = None
        self.steps: list[tuple[str, str]] = []
        fn = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fn.steps.append((event["Step"], event["ClientRequestToken"]))
                try:
                    if event["Step"] == fn.fail_at:
                        raise RuntimeError("told to fail")
                    fn.step(event["SecretId"], event["ClientRequestToken"], event["Step"])
                    status = 200
                except Exception:  # noqa: BLE001 - any failure is the function's 500
                    status = 500
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = _free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def step(self, arn: str, token: str, step: str) -> None:
        sm = self.sm
        if step == "createSecret":
            current = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
            try:
                sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
            except ClientError:
                current["password"] = sm.get_random_password(PasswordLength=24, ExcludePunctuation=True)["RandomPassword"]
                sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(current), VersionStages=["AWSPENDING"])
        elif step == "setSecret":
            pending = json.loads(sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")["SecretString"])
            psql(f"ALTER ROLE {pending['username']} WITH PASSWORD '{pending['password']}'")
        elif step == "testSecret":
            pending = json.loads(sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")["SecretString"])
            if not scram_matches(verifier(pending["username"]), pending["password"]):
                raise RuntimeError("the role's password is not the pending one")
        elif step == "finishSecret":
            versions = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
            current = next(v for v, stages in versions.items() if "AWSCURRENT" in stages)
            if current != token:
                sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current)


@pytest.fixture(scope="module")
def functions():
    good, bad = Function(), Function(fail_at="setSecret")
    yield good, bad
    good.httpd.shutdown()
    bad.httpd.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory, functions):
    good, bad = functions
    base = tmp_path_factory.mktemp("rotation")
    config_file = base / "aws-config"
    config_file.write_text("")
    args = (
        "--rotation-function", f"{GOOD}=http://127.0.0.1:{good.port}/",
        "--rotation-function", f"{BAD}=http://127.0.0.1:{bad.port}/",
        "--rotation-function", f"{GONE}=http://127.0.0.1:{_free_port()}/rotate",
        "--insecure-test-clock",
        "--jobs-interval-seconds", "3600",
    )
    with run_kinko(base / "data", base / "server.log", config_file, args, {"KINKO_INSECURE_TEST_MODE": "1"}) as s:
        good.sm = make_client(s, "secretsmanager")
        bad.sm = make_client(s, "secretsmanager")
        yield s


@pytest.fixture
def role():
    name = f"kinko_rot_{secrets.token_hex(6)}"
    password = secrets.token_urlsafe(18)
    psql(f"CREATE ROLE {name} WITH LOGIN PASSWORD '{password}'")
    yield name, password
    psql(f"DROP ROLE IF EXISTS {name}")


def stages(sm, arn) -> dict:
    return sm.describe_secret(SecretId=arn)["VersionIdsToStages"]


def test_rotation_changes_the_postgres_password_and_the_labels(server, role, functions):
    name, old = role
    sm = make_client(server, "secretsmanager")
    assert scram_matches(verifier(name), old)
    created = sm.create_secret(Name=f"pg/{name}", SecretString=json.dumps({"username": name, "password": old}))
    arn, first = created["ARN"], created["VersionId"]
    assert "RotationEnabled" not in sm.describe_secret(SecretId=arn)

    out = sm.rotate_secret(SecretId=arn, RotationLambdaARN=GOOD, RotationRules={"AutomaticallyAfterDays": 30})
    token = out["VersionId"]
    assert out["ARN"] == arn and out["Name"] == f"pg/{name}" and token != first
    assert [s for s, _ in functions[0].steps[-4:]] == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    assert all(t == token for _, t in functions[0].steps[-4:])

    current = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    previous = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"])
    assert previous["password"] == old and current["password"] != old
    assert scram_matches(verifier(name), current["password"])
    assert not scram_matches(verifier(name), old)
    assert stages(sm, arn) == {token: ["AWSCURRENT"], first: ["AWSPREVIOUS"]}

    d = sm.describe_secret(SecretId=arn)
    assert d["RotationEnabled"] is True and d["RotationLambdaARN"] == GOOD
    assert d["RotationRules"]["AutomaticallyAfterDays"] == 30
    assert d["LastRotatedDate"] <= d["NextRotationDate"]
    assert (d["NextRotationDate"] - d["LastRotatedDate"]).days == 30

    cloudtrail = make_client(server, "cloudtrail")
    events = [record(e) for e in all_events(cloudtrail, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "RotationSucceeded"}])]
    assert any(e["requestParameters"]["clientRequestToken"] == token for e in events)

    sm.cancel_rotate_secret(SecretId=arn)
    d = sm.describe_secret(SecretId=arn)
    assert d["RotationEnabled"] is False and "NextRotationDate" not in d


def test_a_failing_function_leaves_awscurrent_and_records_the_failure(server, role, functions):
    name, old = role
    sm = make_client(server, "secretsmanager")
    created = sm.create_secret(Name=f"pg/{name}", SecretString=json.dumps({"username": name, "password": old}))
    arn, first = created["ARN"], created["VersionId"]
    token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=BAD, RotationRules={"ScheduleExpression": "rate(12 hours)"})["VersionId"]
    assert [s for s, _ in functions[1].steps[-2:]] == ["createSecret", "setSecret"]

    assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["password"] == old
    assert scram_matches(verifier(name), old)
    assert stages(sm, arn) == {first: ["AWSCURRENT"], token: ["AWSPENDING"]}
    d = sm.describe_secret(SecretId=arn)
    assert d["RotationEnabled"] is True and "LastRotatedDate" not in d
    assert d["RotationRules"]["ScheduleExpression"] == "rate(12 hours)"

    cloudtrail = make_client(server, "cloudtrail")
    failed = [record(e) for e in all_events(cloudtrail, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "RotationFailed"}])]
    mine = [e for e in failed if e["requestParameters"]["clientRequestToken"] == token]
    assert mine and "setSecret" in mine[0]["responseElements"]["failure"]
    assert "secret rotation failed" in server.log_file.read_text()

    # A second RotateSecret while AWSPENDING marks the unfinished rotation is refused as AWS refuses
    # it, whatever it asks, and changes nothing; the function is not called.
    calls = len(functions[1].steps)
    for kwargs in ({}, {"RotateImmediately": False}, {"RotationLambdaARN": GOOD, "RotationRules": {"AutomaticallyAfterDays": 3}}):
        with pytest.raises(ClientError) as info:
            sm.rotate_secret(SecretId=arn, **kwargs)
        assert info.value.response["Error"]["Code"] == "InvalidRequestException"
        assert info.value.response["Error"]["Message"] == "A previous rotation isn't complete. That rotation will be reattempted."
    raw = signed_call(server, "secretsmanager.RotateSecret", {"SecretId": arn}, service="secretsmanager")
    assert raw.status == 400 and json.loads(raw.body)["__type"] == "InvalidRequestException"
    assert len(functions[1].steps) == calls
    assert stages(sm, arn) == {first: ["AWSCURRENT"], token: ["AWSPENDING"]}
    after = sm.describe_secret(SecretId=arn)
    assert after["RotationLambdaARN"] == BAD and after["RotationRules"] == d["RotationRules"]

    # The scheduler reattempts it with the AWSPENDING version's id (the failure made it due within
    # the hour).
    advance(server, 3600 + 60)
    assert functions[1].steps[-1] == ("setSecret", token)
    assert stages(sm, arn) == {first: ["AWSCURRENT"], token: ["AWSPENDING"]}

    # CancelRotateSecret takes AWSPENDING off the half-made version; then RotateSecret runs again.
    sm.cancel_rotate_secret(SecretId=arn)
    assert stages(sm, arn) == {first: ["AWSCURRENT"]}
    again = sm.rotate_secret(SecretId=arn, RotationRules={"ScheduleExpression": "rate(12 hours)"})["VersionId"]
    assert again != token and functions[1].steps[-1] == ("setSecret", again)
    sm.cancel_rotate_secret(SecretId=arn)


def advance(server, seconds: int) -> dict:
    """Moves the server's test clock forward and runs one scheduler pass."""
    req = urllib.request.Request(
        f"{server.endpoint}/insecure/clock", data=json.dumps({"AdvanceSeconds": seconds}).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def test_the_scheduler_starts_a_due_rotation(server, role, functions):
    name, old = role
    sm = make_client(server, "secretsmanager")
    created = sm.create_secret(Name=f"pg/{name}", SecretString=json.dumps({"username": name, "password": old}))
    arn, first = created["ARN"], created["VersionId"]
    sm.rotate_secret(SecretId=arn, RotationLambdaARN=GOOD, RotationRules={"ScheduleExpression": "rate(4 hours)"}, RotateImmediately=False)
    d = sm.describe_secret(SecretId=arn)
    assert "LastRotatedDate" not in d and (d["NextRotationDate"] - d["LastChangedDate"]).total_seconds() >= 4 * 3600 - 5
    # Not yet due: nothing happens.
    advance(server, 3600)
    assert stages(sm, arn) == {first: ["AWSCURRENT"]}
    assert scram_matches(verifier(name), old)
    # Due: the pass rotates it.
    advance(server, 3 * 3600 + 60)
    versions = stages(sm, arn)
    assert versions[first] == ["AWSPREVIOUS"] and len(versions) == 2
    current = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    assert current["password"] != old and scram_matches(verifier(name), current["password"])
    d = sm.describe_secret(SecretId=arn)
    assert "LastRotatedDate" in d and (d["NextRotationDate"] - d["LastRotatedDate"]).total_seconds() == 4 * 3600


def test_bad_rotation_requests(server):
    sm = make_client(server, "secretsmanager")
    arn = sm.create_secret(Name=f"r/{secrets.token_hex(4)}", SecretString="{}")["ARN"]

    def code(**kw):
        with pytest.raises(ClientError) as info:
            sm.rotate_secret(SecretId=arn, **kw)
        return info.value.response["Error"]["Code"]

    unknown = "arn:aws:lambda:us-east-1:111122223333:function:nowhere"
    assert code(RotationLambdaARN=unknown, RotationRules={"AutomaticallyAfterDays": 1}) == "InvalidRequestException"
    assert code(RotationRules={"AutomaticallyAfterDays": 1}) == "InvalidRequestException"
    assert code(RotationLambdaARN=GOOD, RotationRules={"ScheduleExpression": "rate(1 hours)"}) == "InvalidParameterException"
    # cron(): AWS's limits (minutes 0, year *, one day field ?, four hours apart, the window inside
    # its day and before the next rotation).
    for bad in ("cron(15 8 * * ? *)", "cron(0 8 * * ? 2030)", "cron(0 8 * * * *)", "cron(0 0/2 * * ? *)", "cron(0 8 1", "cron(0 25 * * ? *)"):
        assert code(RotationLambdaARN=GOOD, RotationRules={"ScheduleExpression": bad}) == "InvalidParameterException", bad
    assert code(RotationLambdaARN=GOOD, RotationRules={"ScheduleExpression": "cron(0 22 * * ? *)", "Duration": "3h"}) == "InvalidParameterException"
    assert code(RotationLambdaARN=GOOD, RotationRules={"ScheduleExpression": "rate(4 hours)", "Duration": "5h"}) == "InvalidParameterException"
    assert "RotationEnabled" not in sm.describe_secret(SecretId=arn)
    # RotateImmediately false stores the schedule and calls nothing.
    sm.rotate_secret(SecretId=arn, RotationLambdaARN=GOOD, RotationRules={"AutomaticallyAfterDays": 7}, RotateImmediately=False)
    d = sm.describe_secret(SecretId=arn)
    assert d["RotationEnabled"] is True and "LastRotatedDate" not in d and list(d["VersionIdsToStages"].values()) == [["AWSCURRENT"]]
    with pytest.raises(ClientError) as info:
        sm.rotate_secret(SecretId="no-such-secret", RotationLambdaARN=GOOD, RotationRules={"AutomaticallyAfterDays": 1})
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_an_unreachable_function_fails_the_rotation_without_changes(server):
    sm = make_client(server, "secretsmanager")
    created = sm.create_secret(Name=f"r/{secrets.token_hex(4)}", SecretString="{}")
    arn, first = created["ARN"], created["VersionId"]
    token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=GONE, RotationRules={"AutomaticallyAfterDays": 2})["VersionId"]
    assert stages(sm, arn) == {first: ["AWSCURRENT"]}
    assert "LastRotatedDate" not in sm.describe_secret(SecretId=arn)
    cloudtrail = make_client(server, "cloudtrail")
    failed = [record(e) for e in all_events(cloudtrail, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "RotationFailed"}])]
    mine = [e for e in failed if e["requestParameters"]["clientRequestToken"] == token]
    assert mine and "createSecret" in mine[0]["responseElements"]["failure"]
    assert "connecting failed" in mine[0]["responseElements"]["failure"]


def test_a_cron_schedule_sets_next_rotation_date_and_runs_in_the_scheduler(server, role, functions):
    name, old = role
    sm = make_client(server, "secretsmanager")
    created = sm.create_secret(Name=f"pg/{name}", SecretString=json.dumps({"username": name, "password": old}))
    arn, first = created["ARN"], created["VersionId"]
    rules = {"ScheduleExpression": "cron(0 16 * * ? *)", "Duration": "2h"}
    sm.rotate_secret(SecretId=arn, RotationLambdaARN=GOOD, RotationRules=rules, RotateImmediately=False)
    d = sm.describe_secret(SecretId=arn)
    assert d["RotationRules"] == rules
    # NextRotationDate: the next 16:00 UTC after the call (the server's clock).
    changed = d["LastChangedDate"].astimezone(datetime.timezone.utc)
    expected = changed.replace(hour=16, minute=0, second=0, microsecond=0)
    if expected <= changed:
        expected += datetime.timedelta(days=1)
    assert d["NextRotationDate"] == expected
    # The scheduler rotates it once the window opens; the next date is the following 16:00.
    advance(server, int((expected - changed).total_seconds()) + 60)
    versions = stages(sm, arn)
    assert versions[first] == ["AWSPREVIOUS"] and len(versions) == 2
    assert scram_matches(verifier(name), json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["password"])
    d = sm.describe_secret(SecretId=arn)
    assert d["NextRotationDate"] == expected + datetime.timedelta(days=1)
    # An hourly cron: 4:00 and 16:00 each day; a 12-hour window fits, 13 hours would not.
    sm.rotate_secret(SecretId=arn, RotationRules={"ScheduleExpression": "cron(0 4/12 * * ? *)", "Duration": "8h"}, RotateImmediately=False)
    d = sm.describe_secret(SecretId=arn)
    now = d["LastChangedDate"].astimezone(datetime.timezone.utc)
    assert d["NextRotationDate"].hour in (4, 16) and d["NextRotationDate"] - now <= datetime.timedelta(hours=12)
    assert d["RotationRules"]["Duration"] == "8h"
    with pytest.raises(ClientError) as info:
        sm.rotate_secret(SecretId=arn, RotationRules={"ScheduleExpression": "cron(0 4/12 * * ? *)", "Duration": "13h"}, RotateImmediately=False)
    assert info.value.response["Error"]["Code"] == "InvalidParameterException"
    assert sm.describe_secret(SecretId=arn)["RotationRules"]["Duration"] == "8h"
    sm.cancel_rotate_secret(SecretId=arn)
