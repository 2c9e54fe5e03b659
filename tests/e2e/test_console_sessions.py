"""Console sessions live in the store (table console_sessions, schema step 17): a browser stays
signed in across a server restart (SQLite) and from one node to another on a shared PostgreSQL
store, its CSRF token still good; the row holds only hashes of the session id and the CSRF token;
sign-out deletes the row. Runs servers of its own (kinko_server.run_kinko)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import urllib.error
import urllib.request
import uuid

import boto3

from kinko_server import client_config, make_botocore_session, run_kinko
from test_console import _NoRedirect, browser, rendered, sign_in  # noqa: F401 (fixture)

POSTGRES_URL = os.environ.get("KINKO_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def _own_client(server, service):
    """A client of a server of the test's own, not counted by conftest's check of the shared
    server's trail (which expects an event there for every request its hook saw)."""
    session = boto3.session.Session(botocore_session=make_botocore_session(server))
    return session.client(service, region_name="us-east-1", endpoint_url=server.endpoint, config=client_config())


def _rows(db) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT * FROM console_sessions").fetchall()


def _replay(endpoint: str, cookie: str) -> tuple[int, str]:
    """GET the keys page with a saved session cookie, not following a redirect."""
    request = urllib.request.Request(f"{endpoint}/console/keys", headers={"Cookie": f"kinko_console={cookie}"})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request) as r:
            return r.status, r.headers.get("Location", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", "")


def _session_cookie(context) -> str:
    (cookie,) = [c for c in context.cookies() if c["name"] == "kinko_console"]
    return cookie["value"]


def _create_secret_in_console(page, endpoint: str) -> str:
    name = f"console/session-{uuid.uuid4().hex[:8]}"
    page.goto(f"{endpoint}/console/secrets/create")
    page.get_by_label("Secret name").fill(name)
    page.get_by_label("Secret value (text)").fill("v")
    page.locator("#create-secret").click()
    assert "was created" in page.locator("#flash").inner_text()
    return name


def test_signed_in_across_a_restart_and_sign_out_removes_the_row(tmp_path, browser):  # noqa: F811
    config = tmp_path / "aws-config"
    config.write_text("")
    data, log = tmp_path / "data", tmp_path / "server.log"
    db = data / "kinko.db"
    context = browser.new_context()
    page = context.new_page()
    with run_kinko(data, log, config) as first:
        sign_in(page, first, first.access_key, first.secret_key)
        assert page.url.endswith("/console/keys")
        cookie = _session_cookie(context)
        csrf = page.locator("input[name=csrf]").first.input_value()
        rows = _rows(db)
        assert len(rows) == 1
        # Only hashes: neither the session id nor the CSRF token is stored.
        assert rows[0][0] == hashlib.sha256(cookie.encode()).hexdigest()
        assert rows[0][5] == hashlib.sha256(csrf.encode()).hexdigest()
        assert all(cookie not in str(v) and csrf not in str(v) for v in rows[0])
    with run_kinko(data, log, config) as second:
        # Same browser, same cookie (cookies are per host, not per port), new process.
        page.goto(f"{second.endpoint}/console/keys")
        assert page.url.endswith("/console/keys"), "signed out by the restart"
        assert ":root" in page.locator("#principal").inner_text()
        rendered(page, "50-session-after-restart")
        # The CSRF token still works: a change made through the restarted server.
        name = _create_secret_in_console(page, second.endpoint)
        assert _own_client(second, "secretsmanager").describe_secret(SecretId=name)["Name"] == name
        page.get_by_role("button", name="Sign out").click()
        assert page.url.endswith("/console/signin")
        assert _rows(db) == []
        # The old cookie, replayed, is no session any more.
        assert _replay(second.endpoint, cookie) == (303, "/console/signin")
    context.close()


def _psql(url: str, sql: str) -> str:
    done = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def test_a_session_works_on_every_node_of_a_shared_store(tmp_path, browser):  # noqa: F811
    database = f"kinko_e2e_console_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _psql(POSTGRES_URL, f"CREATE DATABASE {database}")
    store_url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{database}"
    config = tmp_path / "aws-config"
    config.write_text("")
    data = tmp_path / "data"
    try:
        with run_kinko(data, tmp_path / "a.log", config, ("--store", store_url)) as a:
            with run_kinko(data, tmp_path / "b.log", config, ("--store", store_url)) as b:
                context = browser.new_context()
                page = context.new_page()
                sign_in(page, a, a.access_key, a.secret_key)
                assert page.url.endswith("/console/keys")
                cookie = _session_cookie(context)
                assert _replay(a.endpoint, cookie) == (200, "")
                assert _psql(store_url, "SELECT count(*) FROM console_sessions") == "1"
                # Node b knows the session signed in on node a, and takes its CSRF token.
                page.goto(f"{b.endpoint}/console/keys")
                assert page.url.endswith("/console/keys"), "node b does not know the session"
                name = _create_secret_in_console(page, b.endpoint)
                assert _own_client(a, "secretsmanager").describe_secret(SecretId=name)["Name"] == name
                # Signed out on b: a no longer knows it either.
                page.get_by_role("button", name="Sign out").click()
                assert _psql(store_url, "SELECT count(*) FROM console_sessions") == "0"
                assert _replay(a.endpoint, cookie) == (303, "/console/signin")
                context.close()
    finally:
        _psql(POSTGRES_URL, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
