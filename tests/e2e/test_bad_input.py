"""Bad input through the real server (issue #19, item 4): every malformed request gets a 4xx AWS
error body and the process stays up. The rows here are the parser-level ones: invalid JSON, a
value of the wrong JSON type for every member of every KMS input shape (from botocore's model),
depth 10,000, bodies of 1 MiB and 100 MB, missing or garbled X-Amz-Target, a wrong content type
and an oversized IAM Query request. (Connection-level rows, such as slow clients and pipelining,
are tested elsewhere.)"""

from __future__ import annotations

import contextlib
import http.client
import json
import pathlib
import socket

import botocore.session
import pytest

from kinko_helpers import expect_error
from test_protocol import JSON_CT, Resp, call

# What AWS answers for a client fault: a 4xx with `__type` and a message.
MAX_BODY = 1024 * 1024


def assert_client_error(r: Resp, types) -> None:
    types = {types} if isinstance(types, str) else set(types)
    assert 400 <= r.status < 500, r
    body = r.json
    assert body.get("__type") in types, r
    assert isinstance(body.get("message"), str), r
    assert r.headers.get("x-amzn-RequestId"), r


def rss_kib(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


# --------------------------------------------------------------------------- the model

SERVICE = botocore.session.get_session().get_service_model("kms")


def served_operations(kinko) -> list[str]:
    """Operations Kinko serves: those that do not answer UnsupportedOperationException to `{}`."""
    out = []
    for name in SERVICE.operation_names:
        r = call(kinko, name, b"{}")
        assert r.status < 500, (name, r)
        if r.json.get("__type") != "UnsupportedOperationException":
            out.append(name)
    return out


def wrong_value(shape):
    """A JSON value of a type the member's shape does not have."""
    return {
        "string": 12345,
        "blob": 12345,
        "integer": "twelve",
        "long": "twelve",
        "boolean": "yes",
        "timestamp": {"t": 1},
        "list": {"not": "a list"},
        "map": ["not", "a", "map"],
        "structure": "not a structure",
    }[shape.type_name]


def wrong_type_cases(operations):
    for op in operations:
        shape = SERVICE.operation_model(op).input_shape
        if shape is None:
            continue
        for member, member_shape in shape.members.items():
            yield op, member, wrong_value(member_shape)


# Members of the model that Kinko does not read at all (it has no counterpart), so that a request
# carrying them is judged on its other members: a 4xx, but not necessarily SerializationException.
# `Recipient` is read as any JSON value (it is refused by name as unsupported).
IGNORED_OR_ANY = {
    "Recipient",
    "DryRunModifiers",
    "XksKeyId",
}


def test_every_member_of_the_wrong_type_is_a_serialization_error(kinko):
    operations = served_operations(kinko)
    assert len(operations) >= 40, operations
    cases = list(wrong_type_cases(operations))
    assert len(cases) > 150, len(cases)
    wrong = []
    for op, member, value in cases:
        r = call(kinko, op, {member: value})
        if not 400 <= r.status < 500 or "__type" not in r.json:
            wrong.append((op, member, r))
            continue
        expected = "SerializationException"
        if member in IGNORED_OR_ANY:
            expected = r.json["__type"]
        if r.json["__type"] != expected or r.json["__type"] in {"KMSInternalException"}:
            wrong.append((op, member, r))
    assert not wrong, wrong[:20]


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"}",
        b'{"KeyId": }',
        b'{"KeyId": "a",}',
        b'{"KeyId": "a"} trailing',
        b"\xff\xfe{}",
        b'{"KeyId": "\\ud800"}',
        b"nul\x00l",
        b"[1, 2, 3]",
        b'"a string"',
        b"123",
        b"null",
        b'{"KeyId": 1e999999}',
    ],
)
def test_invalid_json(kinko, body):
    assert_client_error(call(kinko, "DescribeKey", body), "SerializationException")


def test_depth_10000(kinko):
    for target, body in [
        ("DescribeKey", b"[" * 10_000 + b"]" * 10_000),
        ("DescribeKey", b'{"KeyId":' + b"[" * 10_000 + b"]" * 10_000 + b"}"),
        ("Decrypt", b'{"CiphertextBlob":"AA==","Recipient":' + b'{"a":' * 10_000 + b"1" + b"}" * 10_001),
        ("Encrypt", b'{"EncryptionContext":' + b'{"a":' * 10_000 + b'"b"' + b"}" * 10_001),
    ]:
        assert_client_error(call(kinko, target, body), "SerializationException")


def test_one_mib_body_is_refused(kinko):
    body = b'{"KeyId":"' + b"a" * MAX_BODY + b'"}'
    r = call(kinko, "DescribeKey", body, timeout=30)
    assert r.status == 413, r
    assert_client_error(r, "RequestEntityTooLargeException")


def _send_declared(kinko, declared: int, chunk: bytes, limit: int, chunked: bool) -> Resp:
    """Sends headers declaring a large body (or a chunked one), then up to `limit` bytes of it
    while the server lets us, and reads the answer."""
    sock = socket.create_connection((kinko.host, kinko.port), timeout=30)
    try:
        head = [
            "POST / HTTP/1.1",
            f"Host: {kinko.host}:{kinko.port}",
            f"Content-Type: {JSON_CT}",
            "X-Amz-Target: TrentService.DescribeKey",
        ]
        head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {declared}")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        sent = 0
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, socket.timeout):
            while sent < limit:
                if chunked:
                    sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                else:
                    sock.sendall(chunk)
                sent += len(chunk)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return Resp(response.status, response.headers, response.read())
    finally:
        sock.close()


@pytest.mark.parametrize("chunked", [False, True])
def test_100_mb_body_is_refused_without_buffering(kinko, chunked):
    before = rss_kib(kinko.proc.pid)
    r = _send_declared(kinko, 100 * 1024 * 1024, b"a" * 65536, 100 * 1024 * 1024, chunked)
    after = rss_kib(kinko.proc.pid)
    assert r.status == 413, r
    assert_client_error(r, "RequestEntityTooLargeException")
    # Refused at the first MiB: the process did not take in 100 MB.
    assert after - before < 50 * 1024, (before, after)


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "TrentService.",
        "TrentService",
        "trentservice.DescribeKey",
        "TrentService.describekey",
        "TrentService.DescribeKey.Extra",
        "Other_20200101.DescribeKey",
        "TrentService." + "A" * 4000,
    ],
)
def test_missing_or_garbled_target(kinko, target):
    assert_client_error(call(kinko, target, b"{}"), "UnknownOperationException")


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/x-amz-json-1.0",
        "application/x-amz-cbor-1.1",
    ],
)
def test_wrong_content_type(kinko, content_type):
    def set_content_type(headers, body):
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        return headers, body

    # Changed after signing (content-type is signed): the protocol check comes first, as AWS
    # routes by it.
    r = call(kinko, "DescribeKey", {"KeyId": "alias/aws/none"}, after_sign=set_content_type)
    assert_client_error(r, "UnknownOperationException")
    # Signed with it, too.
    headers = {} if content_type is None else {"Content-Type": content_type}
    if content_type is not None:
        r = call(kinko, "ListKeys", b"{}", extra_signed_headers=headers)
        assert_client_error(r, "UnknownOperationException")


def test_content_type_with_charset_is_accepted(kinko):
    r = call(kinko, "ListKeys", b"{}", extra_signed_headers={"Content-Type": JSON_CT + "; charset=utf-8"})
    assert r.status == 200, r


def test_oversized_encryption_context(kinko, key):
    big = {f"k{i}": "v" * 100 for i in range(100)}  # about 10 KB
    r = call(kinko, "Encrypt", {"KeyId": key["KeyId"], "Plaintext": "AA==", "EncryptionContext": big})
    assert_client_error(r, "ValidationException")
    assert "8192" in r.json["message"]
    ok = {f"k{i}": "v" * 60 for i in range(100)}  # about 6.3 KB
    r = call(kinko, "Encrypt", {"KeyId": key["KeyId"], "Plaintext": "AA==", "EncryptionContext": ok})
    assert r.status == 200, r


def test_query_request_of_100000_parameters_is_refused_early(kinko):
    """The report's 889 KB IAM request of 100,000 parameters: refused before it is decoded."""

    body = ("Action=ListUsers&Version=2010-05-08&" + "&".join(f"P{i}=v" for i in range(100_000))).encode()
    assert len(body) < MAX_BODY
    before = rss_kib(kinko.proc.pid)
    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    r = call(kinko, None, body, service="iam", extra_signed_headers=form, timeout=30)
    after = rss_kib(kinko.proc.pid)
    assert r.status == 400, r
    assert b"MalformedQueryString" in r.body, r
    assert after - before < 20 * 1024, (before, after)


def test_process_is_still_up_and_serving(kinko):
    """Last in this file: after every row above, the same process answers a signed request."""
    assert kinko.proc.poll() is None
    r = call(kinko, "GenerateRandom", {"NumberOfBytes": 16})
    assert r.status == 200, r
    assert len(r.json["Plaintext"]) > 0


def test_too_many_grant_tokens_in_aws_form(kms_nov, key):
    err = expect_error("ValidationException", kms_nov.encrypt, KeyId=key["KeyId"], Plaintext=b"x", GrantTokens=["t"] * 11)
    assert err.response["Error"]["Message"] == (
        "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: "
        "Member must have length less than or equal to 10"
    )
