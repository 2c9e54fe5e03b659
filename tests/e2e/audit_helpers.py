"""Helpers for the audit-trail suite: a boto3 CloudTrail client on a Kinko server, the AWS CLI
v1 for any service, raw signed HTTP, and reading request ids back out of LookupEvents."""

from __future__ import annotations

import collections
import contextlib
import http.client
import json
import os
import pathlib
import subprocess
import sys

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from kinko_server import KinkoServer, client_config, make_botocore_session

REGION = "us-east-1"
# The venv's bin (not the interpreter it links to): the pinned AWS CLI lives there.
VENV_BIN = pathlib.Path(sys.executable).parent
JSON_CT = "application/x-amz-json-1.1"
CLOUDTRAIL_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."


def make_client(server: KinkoServer, service: str, **overrides):
    """A boto3 client for `service` ("kms" or "cloudtrail") on `server`, with the credentials the
    server wrote on first start, region us-east-1 and no retries."""
    session = boto3.session.Session(botocore_session=make_botocore_session(server))
    return session.client(service, region_name=REGION, endpoint_url=server.endpoint, config=client_config(**overrides))


def cli_runner(server: KinkoServer):
    """Run the AWS CLI v1 against `server` (any service, unlike conftest's `aws_cli`, which is
    for `kms`).  Returns (returncode, parsed_json_or_None, stderr)."""
    aws = VENV_BIN / "aws"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(server.credentials_file),
        AWS_CONFIG_FILE=str(server.config_file),
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
    )

    def _run(service: str, *args: str, check: bool = True):
        cmd = [str(aws), "--endpoint-url", server.endpoint, "--output", "json", service, *args]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} -> rc={p.returncode}\nstderr: {p.stderr}\nstdout: {p.stdout}")
        out = json.loads(p.stdout) if p.stdout.strip() else None
        return p.returncode, out, p.stderr

    return _run


class Raw:
    """Status, headers and body of one raw HTTP exchange."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-amzn-RequestId")

    @property
    def error_type(self) -> str | None:
        try:
            return json.loads(self.body).get("__type")
        except ValueError:
            return None

    def __repr__(self):
        return f"<HTTP {self.status} {self.body[:300]!r}>"


def send_raw(server: KinkoServer, headers: dict, body: bytes, method: str = "POST", path: str = "/") -> Raw:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=15)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if not any(k.lower() == "content-length" for k in headers):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.send(body)
        r = conn.getresponse()
        return Raw(r.status, r.headers, r.read())
    finally:
        conn.close()


def signed_call(
    server: KinkoServer,
    target: str,
    body: bytes | dict = b"{}",
    *,
    service: str = "kms",
    access_key: str | None = None,
    secret_key: str | None = None,
    sign: bool = True,
) -> Raw:
    """POST / with `X-Amz-Target: target` (a bare operation means `TrentService.<op>`), signed with
    botocore's SigV4Auth for `service` unless sign=False."""
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    headers = {"Host": f"{server.host}:{server.port}", "Content-Type": JSON_CT}
    headers["X-Amz-Target"] = target if "." in target else f"TrentService.{target}"
    req = AWSRequest(method="POST", url=f"{server.endpoint}/", data=body, headers=headers)
    if sign:
        creds = Credentials(access_key or server.access_key, secret_key or server.secret_key)
        SigV4Auth(creds, service, REGION).add_auth(req)
    return send_raw(server, dict(req.headers.items()), body)


def record(event: dict) -> dict:
    """The CloudTrail record of a LookupEvents event."""
    return json.loads(event["CloudTrailEvent"])


def all_events(cloudtrail, **kwargs) -> list[dict]:
    """Every event LookupEvents returns for `kwargs`, through the boto3 paginator."""
    events = []
    for page in cloudtrail.get_paginator("lookup_events").paginate(**kwargs):
        events.extend(page["Events"])
    return events


def request_id_counts(events: list[dict]) -> collections.Counter:
    return collections.Counter(record(e).get("requestID") for e in events)


def find_by_request_id(cloudtrail, request_id: str, **kwargs) -> dict:
    """The one event of the request `request_id` among those LookupEvents returns for `kwargs`
    (newest first, so a request made just before is on the first page)."""
    found = []
    for page in cloudtrail.get_paginator("lookup_events").paginate(**kwargs):
        found.extend(e for e in page["Events"] if record(e).get("requestID") == request_id)
        if found:
            break
    assert len(found) == 1, f"{len(found)} events for request {request_id} with {kwargs}"
    return found[0]
