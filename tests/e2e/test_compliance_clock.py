"""The console's Compliance page over time, on a server with `--insecure-test-clock`: a key never
used passes until 90 days have gone by, then is reported unused; imported material valid for 40
days passes, and 15 days later (25 left) is reported as expiring within 30 days. The page is read
over plain HTTP as the account's root (signed in with its access key, as a browser would)."""

from __future__ import annotations

import os
import re
import urllib.parse
import urllib.request

import pytest

from test_lifecycle import advance, clear_aws_env, import_material, kms_client, run_clock_kinko, server_now

DAY = 86_400


@pytest.fixture(scope="module")
def clock_kinko(tmp_path_factory):
    clear_aws_env()
    base = tmp_path_factory.mktemp("compliance")
    config_file = base / "aws-config"
    config_file.write_text("")
    with run_clock_kinko(base / "data", base / "server.log", config_file) as server:
        yield server


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _session(server) -> str:
    form = urllib.parse.urlencode(
        {"access_key_id": server.access_key, "secret_access_key": server.secret_key}
    ).encode()
    request = urllib.request.Request(f"{server.endpoint}/console/signin", data=form, method="POST")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(request)
        pytest.fail("sign-in did not redirect")
    except urllib.error.HTTPError as e:
        assert e.code == 303, e.read()[:300]
        return e.headers["Set-Cookie"].split(";", 1)[0]


def _rows(server, cookie: str) -> list[str]:
    """The findings table's rows, as text (cells joined by |)."""
    request = urllib.request.Request(f"{server.endpoint}/console/compliance", headers={"Cookie": cookie})
    with urllib.request.urlopen(request) as r:
        assert r.status == 200
        html = r.read().decode()
    table = html.split('<table id="findings">', 1)[1].split("</table>", 1)[0]
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", table):
        cells = re.findall(r"<td>(.*?)</td>", tr)
        rows.append("|".join(re.sub(r"<[^>]+>", " ", c) for c in cells))
    assert rows, "no findings rows"
    return rows


def _row(rows: list[str], check: str, key_id: str) -> str:
    found = [r for r in rows if f"|{check}|" in r and key_id in r]
    assert len(found) == 1, (check, key_id, rows)
    return found[0]


def test_unused_keys_and_expiring_imported_material_are_reported_when_time_passes(clock_kinko):
    kms = kms_client(clock_kinko)
    unused = kms.create_key(Description="never used")["KeyMetadata"]["KeyId"]
    used = kms.create_key(Description="used")["KeyMetadata"]["KeyId"]
    imported = kms.create_key(Origin="EXTERNAL", Description="imported")["KeyMetadata"]["KeyId"]
    now = server_now(clock_kinko)
    import_material(
        kms, imported, os.urandom(32), ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=int(now + 40 * DAY)
    )
    cookie = _session(clock_kinko)

    rows = _rows(clock_kinko, cookie)
    assert _row(rows, "unused", unused).startswith(" pass ")
    assert _row(rows, "import-expiry", imported).startswith(" pass ")

    advance(clock_kinko, 15 * DAY)
    cookie = _session(clock_kinko)  # the console session's idle limit passed with the clock
    rows = _rows(clock_kinko, cookie)
    row = _row(rows, "import-expiry", imported)
    assert row.startswith(" finding ") and "PCI DSS 3.7.4" in row and "25 days left" in row, row

    advance(clock_kinko, 70 * DAY)
    kms.encrypt(KeyId=used, Plaintext=b"still in use")
    advance(clock_kinko, 6 * DAY)
    cookie = _session(clock_kinko)
    rows = _rows(clock_kinko, cookie)
    row = _row(rows, "unused", unused)
    assert row.startswith(" finding ") and "PCI DSS 3.7.5" in row and "never used" in row, row
    row = _row(rows, "unused", used)
    assert row.startswith(" pass ") and "last used by Encrypt" in row, row
