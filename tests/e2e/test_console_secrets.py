"""The console's Secrets pages in a real browser (Debian's chromium through Playwright, as
test_console.py): create a secret, find it in the list, open it, reveal its value by a click
(audited as GetSecretValue by the signed-in principal; the answer is `Cache-Control: no-store`
and the value is in no URL, cookie or log), store a new value and see the versions' labels,
delete it with a recovery window and restore it; rotation (with a function served by the test)
and the resource policy from the secret's page. IAM users without secretsmanager:GetSecretValue,
or without kms:Decrypt on the secret's customer managed key, see the refusal and no value.
Screenshots go to target/console-screenshots/ (not committed)."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from kinko_server import client_config, make_botocore_session, run_kinko
from test_console import _client, browser, rendered, shot, sign_in  # noqa: F401 (fixture)

READ_SECRETS = [
    "secretsmanager:ListSecrets",
    "secretsmanager:DescribeSecret",
    "secretsmanager:ListSecretVersionIds",
    "secretsmanager:GetResourcePolicy",
]


def _user(kinko, actions: list[str]) -> tuple[dict, dict]:
    iam = _client(kinko, "iam")
    name = f"console-secrets-{uuid.uuid4().hex[:8]}"
    user = iam.create_user(UserName=name)["User"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="secrets", PolicyDocument=json.dumps(policy))
    return user, iam.create_access_key(UserName=name)["AccessKey"]


def _open(page, kinko, name: str) -> None:
    page.goto(f"{kinko.endpoint}/console/secrets")
    page.get_by_label("Filter by").select_option("name")
    page.get_by_label("Starts with").fill(name)
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=name, exact=True).click()


def _reveal(page, button="#op-reveal"):
    with page.expect_response(lambda r: r.request.method == "POST" and "/console/secrets/view" in r.url) as answer:
        page.locator(button).click()
    return answer.value


def test_create_list_reveal_audit_update_delete_restore(kinko, browser):  # noqa: F811
    kms = _client(kinko, "kms")
    sm = _client(kinko, "secretsmanager")
    alias = f"alias/console-secrets-{uuid.uuid4().hex[:8]}"
    key_id = kms.create_key(Description="for a console secret")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    name = f"console/db-{uuid.uuid4().hex[:8]}"
    value = f"hunter2-{uuid.uuid4().hex}"
    context = browser.new_context()
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    sign_in(page, kinko, kinko.access_key, kinko.secret_key)

    # Create: name, description, value, a customer managed key picked from the account's keys.
    page.get_by_role("link", name="Secrets").click()
    rendered(page, "40-secrets")
    page.locator("#store-secret").click()
    rendered(page, "41-secret-create")
    options = page.locator("#kms_key option").all_inner_texts()
    assert options[0].startswith("aws/secretsmanager")
    # The list shows at most 100 of the account's keys (the shared server has more); the chosen
    # key is picked from it when listed, else named in the text field.
    listed = any(alias in o for o in options)
    page.get_by_label("Secret name").fill(name)
    page.get_by_label("Description").fill("made in the console")
    page.get_by_label("Secret value (text)").fill(value)
    if listed:
        page.get_by_label("Encryption key").select_option(key_id)
    else:
        page.get_by_label("Or another key (key id, ARN or alias; it takes precedence)").fill(key_id)
    page.get_by_label("Tags (one key=value per line)").fill("team=blue")
    page.locator("#create-secret").click()
    assert "was created" in page.locator("#flash").inner_text()
    rendered(page, "42-secret-details")
    described = sm.describe_secret(SecretId=name)
    assert described["KmsKeyId"] == key_id and described["Description"] == "made in the console"
    assert {"Key": "team", "Value": "blue"} in described["Tags"]
    assert value not in page.content(), "the value is on the page before a click"

    # The list finds it (ListSecrets' own name filter); its page shows versions and rotation.
    _open(page, kinko, name)
    assert "AWSCURRENT" in page.locator("#versions-table").inner_text()
    assert "Disabled" in page.locator("#rotation").inner_text()
    assert "no resource policy" in page.locator("#policy").inner_text()
    assert value not in page.content()

    # Reveal by a click: POST, no-store, audited as GetSecretValue by root with the console's agent.
    answer = _reveal(page)
    assert answer.headers["cache-control"] == "no-store"
    assert page.locator("#secret-value").inner_text() == value
    shot(page, "43-secret-revealed")
    assert value not in page.url
    assert all(value not in c["value"] for c in context.cookies())
    trail = _client(kinko, "cloudtrail")
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetSecretValue"}])["Events"]
    ours = [json.loads(e["CloudTrailEvent"]) for e in events]
    ours = [e for e in ours if (e.get("requestParameters") or {}).get("secretId") in (described["ARN"], name)]
    assert ours, "no GetSecretValue record for the click"
    assert ours[0]["userIdentity"]["arn"].endswith(":root")
    assert ours[0]["userAgent"].startswith("kinko-console/")
    assert ours[0]["eventSource"] == "secretsmanager.amazonaws.com"
    assert value not in json.dumps(ours)
    # The value reads through KMS on the principal's behalf: a Decrypt via the service on our key.
    decrypts = trail.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": key_id}])["Events"]
    assert any(e["EventName"] == "Decrypt" for e in decrypts)
    page.locator("#hide-value").click()
    assert page.locator("#secret-value").count() == 0

    # A new value: AWSCURRENT moves, the old version is AWSPREVIOUS and can be retrieved by its row.
    new_value = f"correct-horse-{uuid.uuid4().hex}"
    page.get_by_label("New value (text; becomes AWSCURRENT)").fill(new_value)
    page.locator("#op-put-value").click()
    assert "PutSecretValue succeeded" in page.locator("#flash").inner_text()
    assert sm.get_secret_value(SecretId=name)["SecretString"] == new_value
    versions = page.locator("#versions-table").inner_text()
    assert "AWSPREVIOUS" in versions and "AWSCURRENT" in versions
    previous = page.locator("#versions-table tbody tr", has_text="AWSPREVIOUS")
    with page.expect_navigation():
        previous.get_by_role("button", name="Retrieve").click()
    assert page.locator("#secret-value").inner_text() == value
    rendered(page, "44-secret-previous-version")

    # Description and tags.
    page.get_by_label("Tag key").fill("env")
    page.get_by_label("Tag value").fill("test")
    page.get_by_role("button", name="Add tag").click()
    assert "TagResource succeeded" in page.locator("#flash").inner_text()
    assert page.locator("#tags-table tbody tr").count() == 2

    # Another key: UpdateSecret seals the labelled versions again under it; both still read.
    other = f"alias/console-secrets-other-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=other, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    page.get_by_label("New encryption key (key id, ARN or alias; empty: unchanged)").fill(other)
    page.locator("#op-update").click()
    assert "UpdateSecret succeeded" in page.locator("#flash").inner_text()
    assert sm.describe_secret(SecretId=name)["KmsKeyId"] == other
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == value
    assert other in page.locator("#general").inner_text()

    # Delete with a 7-day recovery window; listed only with pending deletion; restore.
    page.get_by_label("Recovery window (7–30 days)").fill("7")
    page.locator("#op-delete").click()
    assert "DeleteSecret succeeded" in page.locator("#flash").inner_text()
    assert "DeletedDate" in sm.describe_secret(SecretId=name)
    rendered(page, "45-secret-pending-deletion")
    page.goto(f"{kinko.endpoint}/console/secrets?by=name&q={name}")
    assert page.locator("#secrets-empty").count() == 1
    page.get_by_label("Include secrets pending deletion").check()
    page.get_by_role("button", name="Filter").click()
    assert "Pending deletion" in page.locator("#secrets").inner_text()
    page.get_by_role("link", name=name, exact=True).click()
    page.locator("#op-restore").click()
    assert "RestoreSecret succeeded" in page.locator("#flash").inner_text()
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)

    # Nothing of either value in the server's log.
    log = kinko.log_file.read_text(errors="replace")
    assert value not in log and new_value not in log
    context.close()


@pytest.mark.parametrize("case", ["no-get-secret-value", "no-kms-decrypt"])
def test_refusals_are_shown_and_no_value(kinko, browser, case):  # noqa: F811
    kms = _client(kinko, "kms")
    sm = _client(kinko, "secretsmanager")
    value = f"s3cret-{uuid.uuid4().hex}"
    name = f"console/refused-{uuid.uuid4().hex[:8]}"
    if case == "no-get-secret-value":
        sm.create_secret(Name=name, SecretString=value)
        user, key = _user(kinko, READ_SECRETS)
        expected = ["AccessDeniedException", "secretsmanager:GetSecretValue"]
    else:
        # The user may call GetSecretValue, but the secret's key is customer managed and its
        # policy leaves it to IAM, where the user has no kms:Decrypt.
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        sm.create_secret(Name=name, SecretString=value, KmsKeyId=key_id)
        user, key = _user(kinko, READ_SECRETS + ["secretsmanager:GetSecretValue"])
        expected = ["AccessDeniedException", "Access to KMS is not allowed"]
        # A control: the same user reads a secret under aws/secretsmanager (allowed via the service).
        readable = f"console/readable-{uuid.uuid4().hex[:8]}"
        sm.create_secret(Name=readable, SecretString="readable-value")
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, kinko, key["AccessKeyId"], key["SecretAccessKey"])
    assert user["Arn"] in page.locator("#principal").inner_text()
    if case == "no-kms-decrypt":
        _open(page, kinko, readable)
        _reveal(page)
        assert page.locator("#secret-value").inner_text() == "readable-value"
    _open(page, kinko, name)
    rendered(page, f"46-secret-{case}")
    _reveal(page)
    refusal = page.locator("#value .refused").inner_text()
    for text in expected:
        assert text in refusal, refusal
    assert page.locator("#secret-value").count() == 0
    assert value not in page.content()
    shot(page, f"47-secret-{case}-refused")
    events = _client(kinko, "cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": user["UserName"]}]
    )["Events"]
    refused = [json.loads(e["CloudTrailEvent"]) for e in events if e["EventName"] == "GetSecretValue"]
    assert any(e.get("errorCode") == "AccessDeniedException" for e in refused), refused
    context.close()


def _own_client(server, service):
    """A client of a server of the test's own, not counted by conftest's check of the shared
    server's trail (which expects an event there for every request its hook saw)."""
    session = boto3.session.Session(botocore_session=make_botocore_session(server))
    return session.client(service, region_name="us-east-1", endpoint_url=server.endpoint, config=client_config())


ROTATION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:console-rotation"


class _Function:
    """A rotation function over HTTP: createSecret puts `<current>-rotated` as AWSPENDING,
    finishSecret moves AWSCURRENT to it."""

    def __init__(self):
        self.sm = None
        self.steps: list[str] = []
        fn = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fn.steps.append(event["Step"])
                status = 200
                try:
                    fn.step(event["SecretId"], event["ClientRequestToken"], event["Step"])
                except Exception:  # noqa: BLE001 - any failure is the function's 500
                    status = 500
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def step(self, arn: str, token: str, step: str) -> None:
        if step == "createSecret":
            current = self.sm.get_secret_value(SecretId=arn)["SecretString"]
            self.sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=f"{current}-rotated", VersionStages=["AWSPENDING"])
        elif step == "finishSecret":
            stages = self.sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
            current = next(v for v, s in stages.items() if "AWSCURRENT" in s)
            if current != token:
                self.sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current)


def test_rotation_and_resource_policy_from_the_secret_page(tmp_path, browser):  # noqa: F811
    function = _Function()
    config = tmp_path / "aws-config"
    config.write_text("")
    args = ("--rotation-function", f"{ROTATION_ARN}={function.url}")
    try:
        with run_kinko(tmp_path / "data", tmp_path / "server.log", config, args) as s:
            sm = _own_client(s, "secretsmanager")
            function.sm = sm
            name = f"console/rotated-{uuid.uuid4().hex[:8]}"
            sm.create_secret(Name=name, SecretString="v1")
            context = browser.new_context()
            page = context.new_page()
            page.on("dialog", lambda d: d.accept())
            sign_in(page, s, s.access_key, s.secret_key)
            _open(page, s, name)
            assert "Disabled" in page.locator("#rotation").inner_text()
            page.get_by_label("Rotation function").select_option(ROTATION_ARN)
            page.get_by_label("Rotate every (days, 1–1000)").fill("7")
            page.locator("#op-rotate").click()
            assert "RotateSecret succeeded" in page.locator("#flash").inner_text()
            assert function.steps == ["createSecret", "setSecret", "testSecret", "finishSecret"]
            rotation = page.locator("#rotation").inner_text()
            assert "Enabled" in rotation and ROTATION_ARN in rotation and "every 7 days" in rotation
            assert "Last rotated" in rotation and "Next rotation" in rotation
            rendered(page, "48-secret-rotated")
            assert sm.get_secret_value(SecretId=name)["SecretString"] == "v1-rotated"
            assert "AWSPREVIOUS" in page.locator("#versions-table").inner_text()
            page.locator("#op-rotate-now").click()
            assert "RotateSecret succeeded" in page.locator("#flash").inner_text()
            assert sm.get_secret_value(SecretId=name)["SecretString"] == "v1-rotated-rotated"
            page.locator("#op-cancel-rotation").click()
            assert "CancelRotateSecret succeeded" in page.locator("#flash").inner_text()
            assert sm.describe_secret(SecretId=name).get("RotationEnabled") is False

            # The resource policy: a malformed one is refused with AWS's reason; a good one saved;
            # then deleted.
            page.get_by_label("Resource policy (JSON)").fill('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}')
            page.locator("#op-put-policy").click()
            assert "PutResourcePolicy was refused" in page.locator("#flash").inner_text()
            account = _own_client(s, "sts").get_caller_identity()["Account"]
            policy = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
            }
            page.get_by_label("Resource policy (JSON)").fill(json.dumps(policy))
            page.locator("#op-put-policy").click()
            assert "PutResourcePolicy succeeded" in page.locator("#flash").inner_text()
            assert json.loads(sm.get_resource_policy(SecretId=name)["ResourcePolicy"]) == policy
            rendered(page, "49-secret-policy")
            page.locator("#op-delete-policy").click()
            assert "DeleteResourcePolicy succeeded" in page.locator("#flash").inner_text()
            assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)
            context.close()
    finally:
        function.httpd.shutdown()
