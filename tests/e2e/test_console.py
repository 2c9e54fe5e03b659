"""The web console (`/console/`) in a real browser: Debian's chromium driven by Playwright for
Python (never a downloaded browser). Signs in as root, creates a key with the wizard, edits its
policy, rotates it and sees the rotation in its history, disables it, sees the refused Encrypt on
the audit page; signs in as a limited IAM user and sees refusals with AWS's reason. Every page is
screenshotted to target/console-screenshots/ (not committed) and checked to have rendered.

Also over plain HTTP: the security headers, the session cookie's attributes, cross-site and
CSRF-less changes refused, failed sign-ins audited."""

from __future__ import annotations

import json
import os
import pathlib
import urllib.error
import urllib.parse
import urllib.request
import uuid

import boto3
import botocore.exceptions
import pytest

import conftest
from kinko_server import REPO, client_config, make_botocore_session

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("KINKO_CHROMIUM", "/usr/bin/chromium")
SHOTS = REPO / "target" / "console-screenshots"
REGION = "us-east-1"


def _client(kinko, service, **credentials):
    botocore_session = make_botocore_session(kinko)
    botocore_session.register("after-call", conftest._record_request_id)
    session = boto3.session.Session(botocore_session=botocore_session, **credentials)
    return session.client(service, region_name=REGION, endpoint_url=kinko.endpoint, config=client_config())


@pytest.fixture(scope="module")
def browser():
    if not pathlib.Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (cargo xtask test installs it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def rendered(page, name: str) -> None:
    """The page is a console page, not an error page, and screenshotted."""
    shot(page, name)
    heading = page.locator("h1").first.inner_text()
    assert heading not in ("Not found", "Refused"), f"{name}: error page {heading!r}"
    assert page.locator("header nav").count() == 1, f"{name}: no console navigation"


def sign_in(page, kinko, key_id: str, secret: str) -> None:
    page.goto(f"{kinko.endpoint}/console/")
    assert page.url.endswith("/console/signin")
    page.get_by_label("Access key ID").fill(key_id)
    page.get_by_label("Secret access key").fill(secret)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


@pytest.fixture(scope="module")
def limited_user(kinko):
    iam = _client(kinko, "iam")
    name = f"console-limited-{uuid.uuid4().hex[:8]}"
    user = iam.create_user(UserName=name)["User"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["kms:ListKeys", "kms:ListAliases", "kms:DescribeKey", "cloudtrail:LookupEvents"],
                "Resource": "*",
            }
        ],
    }
    iam.put_user_policy(UserName=name, PolicyName="read-keys", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return user, key


def test_root_creates_edits_rotates_disables_and_audits_a_key(kinko, browser, limited_user):
    user, _ = limited_user
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{kinko.endpoint}/console/signin")
    shot(page, "01-signin")
    sign_in(page, kinko, kinko.access_key, kinko.secret_key)
    assert page.url.endswith("/console/keys")
    assert ":root" in page.locator("#principal").inner_text()
    rendered(page, "02-keys")

    # The wizard: kind and spec, labels, permissions, review, create.
    alias = f"alias/console-{uuid.uuid4().hex[:8]}"
    page.get_by_role("link", name="Create key").first.click()
    rendered(page, "03-create-type")
    page.get_by_label("SYMMETRIC_DEFAULT · ENCRYPT_DECRYPT").check()
    page.locator("#next").click()
    rendered(page, "04-create-labels")
    page.get_by_label("Alias (without or with alias/)").fill(alias)
    page.get_by_label("Description").fill("made in the console")
    page.get_by_label("Tags (one key=value per line)").fill("team=blue")
    page.locator("#next").click()
    rendered(page, "05-create-permissions")
    page.get_by_label("Key users (IAM user or role ARNs, one per line)").fill(user["Arn"])
    page.locator("#next").click()
    rendered(page, "06-create-review")
    review = json.loads(page.get_by_label("Key policy").input_value())
    assert [s["Sid"] for s in review["Statement"]][:1] == ["Enable IAM User Permissions"]
    assert any(s["Principal"]["AWS"] == [user["Arn"]] for s in review["Statement"][1:])
    page.locator("#create").click()
    assert "was created" in page.locator("#flash").inner_text()
    rendered(page, "07-key-details")
    key_id = page.url.rsplit("/", 1)[1]
    kms = _client(kinko, "kms")
    meta = kms.describe_key(KeyId=alias)["KeyMetadata"]
    assert meta["KeyId"] == key_id and meta["Description"] == "made in the console"
    assert {"TagKey": "team", "TagValue": "blue"} in kms.list_resource_tags(KeyId=key_id)["Tags"]
    assert alias in page.locator("#aliases").inner_text()
    assert page.locator("#tags tbody tr").count() == 1

    # Edit the policy: invalid JSON is caught in the page; a lockout is refused by the server;
    # a valid edit is saved.
    editor = page.get_by_label("Key policy (JSON)")
    editor.fill("{ not json")
    assert "Not valid JSON" in page.locator("#policy-status").inner_text()
    page.locator("#op-put-policy").click()
    assert page.url.endswith(f"/console/keys/{key_id}")
    assert "PutKeyPolicy" not in page.locator("#flash").inner_text(), "an invalid policy was submitted"
    lockout = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": user["Arn"]}, "Action": "kms:DescribeKey", "Resource": "*"}],
    }
    editor = page.get_by_label("Key policy (JSON)")
    editor.fill(json.dumps(lockout))
    page.locator("#op-put-policy").click()
    assert "PutKeyPolicy was refused" in page.locator("#flash").inner_text()
    shot(page, "08-policy-lockout-refused")
    policy = json.loads(page.get_by_label("Key policy (JSON)").input_value())
    policy["Statement"].append(
        {"Sid": "console-edit", "Effect": "Allow", "Principal": {"AWS": user["Arn"]}, "Action": "kms:GetKeyRotationStatus", "Resource": "*"}
    )
    page.get_by_label("Key policy (JSON)").fill(json.dumps(policy))
    page.locator("#op-put-policy").click()
    assert "PutKeyPolicy succeeded" in page.locator("#flash").inner_text()
    stored = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert "console-edit" in [s.get("Sid") for s in stored["Statement"]]

    # Rotate on demand; the rotation shows in the history.
    page.locator("#op-rotate-now").click()
    assert "RotateKeyOnDemand succeeded" in page.locator("#flash").inner_text()
    assert page.locator("#rotations tbody tr").count() >= 1
    assert "ON_DEMAND" in page.locator("#rotations").inner_text()
    rendered(page, "09-rotated")

    # Disable; an Encrypt is then refused, and the audit page shows it.
    page.locator("#op-disable").click()
    assert "DisableKey succeeded" in page.locator("#flash").inner_text()
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert refused.value.response["Error"]["Code"] == "DisabledException"
    page.get_by_role("link", name="Audit").click()
    page.get_by_label("Event name").fill("Encrypt")
    page.get_by_label("Key (id or ARN)").fill(key_id)
    page.get_by_label("Result").select_option("failed")
    page.get_by_role("button", name="Search").click()
    rendered(page, "10-audit-refused-encrypt")
    events = page.locator("#events").inner_text()
    assert "DisabledException" in events and "Encrypt" in events

    # The console's own changes are audited as the API calls, with the console's user agent.
    page.get_by_label("Event name").fill("DisableKey")
    page.get_by_label("Key (id or ARN)").fill("")
    page.get_by_label("Result").select_option("")
    page.get_by_role("button", name="Search").click()
    assert "kinko-console/" in page.locator("#events").inner_text()
    shot(page, "11-audit-console-change")
    context.close()


def test_limited_user_sees_refusals_with_aws_reason(kinko, browser, limited_user):
    user, key = limited_user
    kms = _client(kinko, "kms")
    key_id = kms.create_key(Description="console limited")["KeyMetadata"]["KeyId"]
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, kinko, key["AccessKeyId"], key["SecretAccessKey"])
    assert user["Arn"] in page.locator("#principal").inner_text()
    rendered(page, "20-limited-keys")
    assert page.locator("#keys tbody tr").count() >= 1
    page.goto(f"{kinko.endpoint}/console/keys/{key_id}")
    rendered(page, "21-limited-key-details")
    # The key policy is not readable: AWS's reason is shown where it would be.
    policy = page.locator("#key-policy").inner_text()
    assert "AccessDeniedException" in policy and "is not authorized to perform: kms:GetKeyPolicy" in policy
    page.locator("#op-disable").click()
    flash = page.locator("#flash").inner_text()
    assert "DisableKey was refused" in flash
    assert f"User: {user['Arn']} is not authorized to perform: kms:DisableKey" in flash
    shot(page, "22-limited-refused")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    # Deactivating the access key ends the console session at once.
    _client(kinko, "iam").update_access_key(UserName=user["UserName"], AccessKeyId=key["AccessKeyId"], Status="Inactive")
    page.goto(f"{kinko.endpoint}/console/keys")
    assert page.url.endswith("/console/signin")
    context.close()


def _post(url: str, data: dict, headers: dict) -> tuple[int, object, str]:
    body = urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_security_headers_cookie_csrf_and_failed_sign_in(kinko):
    with urllib.request.urlopen(f"{kinko.endpoint}/console/signin") as r:
        csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    form = {"access_key_id": kinko.access_key, "secret_access_key": kinko.secret_key}
    status, headers, _ = _post(f"{kinko.endpoint}/console/signin", form, {"Origin": "http://evil.example"})
    assert status == 403 and "Set-Cookie" not in headers
    status, headers, _ = _post(f"{kinko.endpoint}/console/signin", form, {})
    assert status == 303
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    session = cookie.split(";", 1)[0]
    # A change without the CSRF token, or from another site, is refused.
    kms = _client(kinko, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    url = f"{kinko.endpoint}/console/keys/{key_id}"
    status, _, _ = _post(url, {"op": "disable"}, {"Cookie": session})
    assert status == 403
    status, _, _ = _post(url, {"op": "disable", "csrf": "0" * 64}, {"Cookie": session})
    assert status == 403
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    # A wrong secret fails, slowly, and is audited as a failed ConsoleLogin.
    bad = {"access_key_id": kinko.access_key, "secret_access_key": "wrong" + kinko.secret_key[5:]}
    status, headers, body = _post(f"{kinko.endpoint}/console/signin", bad, {})
    assert status == 401 and "Set-Cookie" not in headers and "Sign-in failed" in body
    trail = _client(kinko, "cloudtrail")
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}])["Events"]
    records = [json.loads(e["CloudTrailEvent"]) for e in events]
    assert any(r.get("responseElements") == {"ConsoleLogin": "Failure"} for r in records)
    assert any(r.get("responseElements") == {"ConsoleLogin": "Success"} for r in records)
    assert all(kinko.secret_key not in json.dumps(r) for r in records)
