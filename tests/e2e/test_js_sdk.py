"""The AWS SDK for JavaScript v3 (`@aws-sdk/client-kms` and `@aws-sdk/client-secrets-manager`,
pinned in tests/js/package-lock.json) against the session's real server: `node --test` runs
tests/js/*.test.mjs, which cover symmetric encryption and data keys, asymmetric signing and
encryption (checked by Node's own crypto), grants, Secrets Manager (secrets.test.mjs), and error
codes read back as the SDK's modeled exceptions.

`cargo xtask test` runs `npm ci` in tests/js first; run by hand, do the same once."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess

import pytest

from authz_helpers import World
from conftest import REGION

JS_DIR = pathlib.Path(__file__).resolve().parent.parent / "js"
SDKS = [JS_DIR / "node_modules" / "@aws-sdk" / c / "package.json" for c in ("client-kms", "client-secrets-manager")]
TEST_FILES = sorted(p.name for p in JS_DIR.glob("*.test.mjs"))


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (>= 20) is not on PATH: the JavaScript SDK suite needs it")
    for sdk in SDKS:
        if not sdk.is_file():
            pytest.fail(f"{sdk} is missing: run `npm ci` in {JS_DIR} (cargo xtask test does)")
    return node


def test_js_sdk_suite(kinko, kms, account_id):
    node = _node()
    assert len(TEST_FILES) >= 6 and "secrets.test.mjs" in TEST_FILES, TEST_FILES
    world = World(kinko, kms, account_id)
    # An IAM user with no policy: only grants let it use a key.
    grantee = world.user(prefix="js-grantee")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        KINKO_ENDPOINT=kinko.endpoint,
        KINKO_REGION=REGION,
        KINKO_ACCOUNT_ID=account_id,
        KINKO_ACCESS_KEY_ID=kinko.access_key,
        KINKO_SECRET_ACCESS_KEY=kinko.secret_key,
        KINKO_GRANTEE_ARN=grantee.arn,
        KINKO_GRANTEE_ACCESS_KEY_ID=grantee.credentials["AccessKeyId"],
        KINKO_GRANTEE_SECRET_ACCESS_KEY=grantee.credentials["SecretAccessKey"],
        # The SDK must find nothing of the machine's own AWS setup.
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    proc = subprocess.run(
        [node, "--test", "--test-reporter=spec", *TEST_FILES],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"node --test failed:\n{report}"
    passed = re.search(r"^\S*\s*pass (\d+)\s*$", report, re.M)
    failed = re.search(r"^\S*\s*fail (\d+)\s*$", report, re.M)
    assert passed and failed, f"no summary in node's report:\n{report}"
    assert int(failed.group(1)) == 0, report
    # Every test in every file ran (none was skipped or silently absent).
    declared = sum(len(re.findall(r"^test\(", (JS_DIR / f).read_text(), re.M)) for f in TEST_FILES)
    assert int(passed.group(1)) == declared, f"{passed.group(1)} of {declared} JavaScript tests passed:\n{report}"
