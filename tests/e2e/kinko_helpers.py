"""Small assertion helpers shared by the e2e suites."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from botocore.exceptions import ClientError

UUID_V4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
KEY_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):key/(?P<key_id>.+)$"
)


def expect_error(code, fn, *args, **kwargs) -> ClientError:
    """Call fn and require a service error whose __type is `code` (a str or a set of
    acceptable codes).  Client faults must come with a 4xx status, never 5xx."""
    with pytest.raises(ClientError) as ei:
        fn(*args, **kwargs)
    err = ei.value.response.get("Error", {})
    status = ei.value.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    codes = {code} if isinstance(code, str) else set(code)
    assert err.get("Code") in codes, f"expected {sorted(codes)}, got {err.get('Code')!r} ({err.get('Message')!r}), HTTP {status}"
    assert status is not None and 400 <= status < 500, f"{err.get('Code')} came with HTTP {status}"
    return ei.value


def key_arn(region: str, account: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def alias_arn(region: str, account: str, alias_name: str) -> str:
    return f"arn:aws:kms:{region}:{account}:{alias_name}"


def unique_alias(prefix: str = "e2e") -> str:
    return f"alias/{prefix}-{uuid.uuid4().hex[:12]}"


def random_key_id() -> str:
    return str(uuid.uuid4())


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def assert_recent(ts: dt.datetime, slack_s: float = 300.0):
    assert isinstance(ts, dt.datetime), f"not a timestamp: {ts!r}"
    assert ts.tzinfo is not None
    delta = abs((now_utc() - ts).total_seconds())
    assert delta < slack_s, f"timestamp {ts} is {delta:.0f}s away from now"
