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
import playwright.sync_api as playwright_api
import pytest

import conftest
from kinko_server import REPO, client_config, make_botocore_session

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
    # A label on every control, and no id used twice (a label must name one control).
    unlabeled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label'))
            .map(c => c.outerHTML)"""
    )
    assert not unlabeled, f"{name}: controls without a label: {unlabeled}"
    duplicates = page.evaluate(
        """() => { const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
                   return ids.filter((id, i) => ids.indexOf(id) !== i); }"""
    )
    assert not duplicates, f"{name}: ids used twice: {duplicates}"


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
    page.get_by_label("Tag key").fill("env")
    page.get_by_label("Tag value").fill("test")
    page.get_by_role("button", name="Add tag").click()
    assert "TagResource succeeded" in page.locator("#flash").inner_text()
    assert page.locator("#tags tbody tr").count() == 2

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

    # Rotate on demand; the rotation shows in the history. An Encrypt first: the last use.
    kms.encrypt(KeyId=key_id, Plaintext=b"x")
    page.locator("#op-rotate-now").click()
    assert "(Encrypt)" in page.locator("#last-use").inner_text()
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
    page.locator("#verify").click()
    assert "Audit chains intact" in page.locator("#flash").inner_text()
    shot(page, "11b-audit-verified")

    # Overview: counts, the hourly chart, failed requests (the refused Encrypt), version.
    page.get_by_role("link", name="Overview").click()
    rendered(page, "12-overview")
    assert page.locator("#by-state tbody tr").count() >= 1
    assert "Disabled" in page.locator("#by-state").inner_text()
    assert "SYMMETRIC_DEFAULT" in page.locator("#by-spec").inner_text()
    assert page.locator("#hours-chart rect").count() == 24
    assert "DisabledException" in page.locator("#failed").inner_text()
    assert page.locator("#version").inner_text().strip()
    assert page.locator("#root-kind").inner_text() == os.environ.get("KINKO_TEST_ROOT", "file")

    # Why? The root may ask about another principal of its account.
    page.get_by_role("link", name="Why?").click()
    page.get_by_label("Principal ARN").fill(user["Arn"])
    page.get_by_label("Action").fill("kms:GetKeyRotationStatus")
    page.get_by_label("Key (id, ARN or alias)").fill(key_id)
    page.get_by_role("button", name="Explain").click()
    rendered(page, "13-why")
    assert page.locator("#verdict").inner_text() == "Allowed"
    assert "console-edit" in page.locator("#explanation").inner_text()
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
    # Why? explains the refusal with the same code as `kinko authz explain`.
    page.get_by_role("link", name="Why?").click()
    page.get_by_label("Action").fill("kms:DisableKey")
    page.get_by_label("Key (id, ARN or alias)").fill(key_id)
    page.get_by_role("button", name="Explain").click()
    rendered(page, "23-limited-why")
    assert page.locator("#verdict").inner_text() == "Denied"
    assert "DENIED" in page.locator("#explanation").inner_text()
    # It may not ask about another principal.
    page.get_by_label("Principal ARN").fill(f"arn:aws:iam::{user['Arn'].split(':')[4]}:root")
    page.get_by_role("button", name="Explain").click()
    assert "may explain only its own requests" in page.locator(".refused").inner_text()
    page.get_by_role("link", name="Audit").click()
    page.locator("#verify").click()
    assert "may not verify the audit chains" in page.locator("#flash").inner_text()
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    # Deactivating the access key ends the console session at once.
    _client(kinko, "iam").update_access_key(UserName=user["UserName"], AccessKeyId=key["AccessKeyId"], Status="Inactive")
    page.goto(f"{kinko.endpoint}/console/keys")
    assert page.url.endswith("/console/signin")
    context.close()


def test_iam_user_access_key_shown_once_and_inline_policy(kinko, browser):
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, kinko, kinko.access_key, kinko.secret_key)
    page.get_by_role("link", name="IAM").click()
    rendered(page, "30-iam")
    name = f"console-made-{uuid.uuid4().hex[:8]}"
    page.get_by_label("User name").fill(name)
    page.get_by_role("button", name="Create user").click()
    assert "CreateUser succeeded" in page.locator("#flash").inner_text()
    page.get_by_role("button", name="Create access key").click()
    rendered(page, "31-iam-new-access-key")
    key_id = page.locator("#new-secret code").inner_text()
    secret = page.get_by_label("Secret access key").input_value()
    assert key_id.startswith("AKIA") and len(secret) == 40
    assert page.locator("#access-keys tbody tr").count() == 1
    # Shown once: the user's page never shows it again.
    page.goto(f"{kinko.endpoint}/console/iam/users/{name}")
    assert secret not in page.content()
    page.get_by_label("Policy name").fill("list-keys")
    page.get_by_label("Policy document (JSON)").fill(
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:ListKeys", "Resource": "*"}]})
    )
    page.get_by_role("button", name="Save inline policy").click()
    assert "PutUserPolicy succeeded" in page.locator("#flash").inner_text()
    assert "list-keys" in page.locator("#policies").inner_text()
    rendered(page, "32-iam-user")
    # The new key signs in; ListAliases is not allowed, and the page says why.
    other = browser.new_context().new_page()
    sign_in(other, kinko, key_id, secret)
    rendered(other, "33-new-user-keys")
    assert f"is not authorized to perform: kms:ListAliases" in other.locator(".refused").first.inner_text()
    # IAM pages refuse it too, with IAM's reason.
    other.get_by_role("link", name="IAM").click()
    assert "iam:ListUsers" in other.locator(".refused").first.inner_text()
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


def test_role_session_signs_in_with_its_session_token(kinko, browser):
    iam = _client(kinko, "iam")
    account = _client(kinko, "sts").get_caller_identity()["Account"]
    name = f"console-role-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    creds = _client(kinko, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="console")["Credentials"]
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{kinko.endpoint}/console/signin")
    page.get_by_label("Access key ID").fill(creds["AccessKeyId"])
    page.get_by_label("Secret access key").fill(creds["SecretAccessKey"])
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    # Without the session token, the temporary key does not sign in.
    assert page.url.endswith("/console/signin")
    assert "Sign-in failed" in page.locator("#signin-error").inner_text()
    page.get_by_label("Access key ID").fill(creds["AccessKeyId"])
    page.get_by_label("Secret access key").fill(creds["SecretAccessKey"])
    page.get_by_label("Session token (role sessions only)").fill(creds["SessionToken"])
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/console/keys")
    assert f"arn:aws:sts::{account}:assumed-role/{name}/console" in page.locator("#principal").inner_text()
    rendered(page, "40-role-session-keys")
    # The role has no permissions: AWS's reason names the assumed-role principal.
    assert "assumed-role" in page.locator(".refused").first.inner_text()
    context.close()


def test_compliance_page_names_a_key_without_rotation_and_refuses_non_root(kinko, browser):
    kms = _client(kinko, "kms")
    plain = kms.create_key(Description="compliance no rotation")["KeyMetadata"]
    rotating = kms.create_key(Description="compliance rotating")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=rotating["KeyId"])
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, kinko, kinko.access_key, kinko.secret_key)
    page.get_by_role("link", name="Compliance").click()
    assert page.url.endswith("/console/compliance")
    rendered(page, "30-compliance")
    rows = page.locator("#findings tbody tr")
    plain_rows = rows.filter(has_text=plain["Arn"]).filter(has_text="rotation")
    assert plain_rows.count() == 1, page.locator("#findings").inner_text()
    row = plain_rows.first.inner_text()
    assert "finding" in row and "PCI DSS 3.7.4" in row and "automatic rotation is off" in row
    # Passes are listed after every finding, at most 200 of them: the rotating key is only checked
    # not to be among the findings.
    assert rows.filter(has_text=rotating["Arn"]).filter(has_text="automatic rotation is off").count() == 0
    assert "PCI DSS 3.7.4" in page.locator("#summary").inner_text()
    # A file root of trust is development only; a PKCS#11 token passes.
    root_row = rows.filter(has_text="root of trust").first.inner_text()
    if os.environ.get("KINKO_TEST_ROOT", "file") == "file":
        assert "finding" in root_row and '"file"' in root_row
    else:
        assert "PKCS#11" in root_row and "finding" not in root_row
    context.close()

    # An IAM user, even one allowed everything, is not the account's root.
    iam = _client(kinko, "iam")
    name = f"console-compliance-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=json.dumps(allow_all))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, kinko, key["AccessKeyId"], key["SecretAccessKey"])
    response = page.goto(f"{kinko.endpoint}/console/compliance")
    assert response.status == 403
    shot(page, "31-compliance-refused")
    refusal = page.locator(".refused").inner_text()
    assert "AccessDeniedException" in refusal and "an account's root may" in refusal
    assert page.locator("#findings").count() == 0
    context.close()
