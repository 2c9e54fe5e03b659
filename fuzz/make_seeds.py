"""Writes the seed inputs of every fuzz target into corpus/<target>/ (run once, then minimized
with `cargo fuzz cmin`): real requests as botocore builds and signs them, the SigV4 test suite's
requests, the policy documents and configurations of the docs and tests. Needs botocore (the
e2e venv): `.venv/bin/python fuzz/make_seeds.py`."""

from __future__ import annotations

import base64
import hashlib
import json
import pathlib

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS = HERE / "corpus"
KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
ARN = f"arn:aws:kms:us-east-1:111122223333:key/{KEY}"


def seed(target: str, data: bytes | str) -> None:
    if isinstance(data, str):
        data = data.encode()
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def signed(target: str | None, body: bytes, service="kms", token=None, content_type="application/x-amz-json-1.1"):
    headers = {"Host": "localhost:7700", "Content-Type": content_type}
    if target:
        headers["X-Amz-Target"] = target
    req = AWSRequest(method="POST", url="http://localhost:7700/", data=body, headers=headers)
    creds = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", token)
    SigV4Auth(creds, service, "us-east-1").add_auth(req)
    head = "POST / HTTP/1.1\n" + "\n".join(f"{k}: {v}" for k, v in req.headers.items())
    return head.encode() + b"\n\n" + body


CTX = {"purpose": "test", "tenant": "acme"}
BLOB = base64.b64encode(b"K\x01" + bytes(range(94)) + b"\x00" * 20).decode()
KMS = {
    "Encrypt": {"KeyId": KEY, "Plaintext": "aGVsbG8=", "EncryptionContext": CTX, "GrantTokens": ["t"]},
    "Decrypt": {"CiphertextBlob": BLOB, "EncryptionContext": CTX, "KeyId": ARN, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
    "ReEncrypt": {"CiphertextBlob": BLOB, "SourceEncryptionContext": CTX, "DestinationKeyId": "alias/x",
                  "DestinationEncryptionContext": {}},
    "GenerateDataKey": {"KeyId": "alias/app", "KeySpec": "AES_256", "EncryptionContext": CTX},
    "GenerateDataKeyWithoutPlaintext": {"KeyId": KEY, "NumberOfBytes": 32},
    "GenerateRandom": {"NumberOfBytes": 32},
    "CreateKey": {"Description": "d", "KeyUsage": "SIGN_VERIFY", "KeySpec": "ECC_NIST_P256",
                  "Tags": [{"TagKey": "k", "TagValue": "v"}], "MultiRegion": False,
                  "Policy": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                            "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]})},
    "DescribeKey": {"KeyId": ARN, "GrantTokens": []},
    "ListKeys": {"Limit": 10, "Marker": "abc"},
    "EnableKey": {"KeyId": KEY},
    "UpdateKeyDescription": {"KeyId": KEY, "Description": "new"},
    "ScheduleKeyDeletion": {"KeyId": KEY, "PendingWindowInDays": 7},
    "EnableKeyRotation": {"KeyId": KEY, "RotationPeriodInDays": 90},
    "ListKeyRotations": {"KeyId": KEY, "Limit": 5},
    "GetParametersForImport": {"KeyId": KEY, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_4096"},
    "ImportKeyMaterial": {"KeyId": KEY, "ImportToken": "AA==", "EncryptedKeyMaterial": "AA==",
                          "ValidTo": 1700000000, "ExpirationModel": "KEY_MATERIAL_EXPIRES"},
    "DeleteImportedKeyMaterial": {"KeyId": KEY},
    "GetPublicKey": {"KeyId": KEY},
    "Sign": {"KeyId": KEY, "Message": "aGVsbG8=", "MessageType": "RAW", "SigningAlgorithm": "ECDSA_SHA_256"},
    "Verify": {"KeyId": KEY, "Message": "aGVsbG8=", "Signature": "AA==", "SigningAlgorithm": "RSASSA_PSS_SHA_256"},
    "GenerateMac": {"KeyId": KEY, "Message": "aGVsbG8=", "MacAlgorithm": "HMAC_SHA_256"},
    "VerifyMac": {"KeyId": KEY, "Message": "aGVsbG8=", "Mac": "AA==", "MacAlgorithm": "HMAC_SHA_512"},
    "GenerateDataKeyPair": {"KeyId": KEY, "KeyPairSpec": "RSA_2048", "EncryptionContext": CTX},
    "DeriveSharedSecret": {"KeyId": KEY, "KeyAgreementAlgorithm": "ECDH", "PublicKey": "AA=="},
    "Encapsulate": {"KeyId": KEY, "EncapsulationAlgorithm": "ML_KEM"},
    "CreateAlias": {"AliasName": "alias/app", "TargetKeyId": KEY},
    "DeleteAlias": {"AliasName": "alias/app"},
    "ListAliases": {"KeyId": KEY, "Limit": 50},
    "TagResource": {"KeyId": KEY, "Tags": [{"TagKey": "a", "TagValue": ""}]},
    "UntagResource": {"KeyId": KEY, "TagKeys": ["a"]},
    "ListResourceTags": {"KeyId": KEY},
    "GetKeyPolicy": {"KeyId": KEY, "PolicyName": "default"},
    "PutKeyPolicy": {"KeyId": KEY, "PolicyName": "default", "BypassPolicyLockoutSafetyCheck": True,
                     "Policy": json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": ["kms:Decrypt"],
                               "Resource": "*", "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": "x"}}}]})},
    "ListKeyPolicies": {"KeyId": KEY},
    "CreateGrant": {"KeyId": KEY, "GranteePrincipal": "arn:aws:iam::111122223333:role/r", "Operations": ["Decrypt", "Encrypt"],
                    "Constraints": {"EncryptionContextSubset": CTX}, "Name": "g"},
    "ListGrants": {"KeyId": KEY, "GrantId": "0" * 64},
    "ListRetirableGrants": {"RetiringPrincipal": "arn:aws:iam::111122223333:user/u"},
    "RetireGrant": {"GrantToken": "tok"},
    "RevokeGrant": {"KeyId": KEY, "GrantId": "0" * 64},
}
for op, body in KMS.items():
    raw = json.dumps(body).encode()
    seed("kms_json", op.encode() + b"\n" + raw)
    seed("sigv4_header", signed(f"TrentService.{op}", raw))
seed("kms_json", b"ListKeys\n")
seed("sigv4_header", signed("TrentService.ListKeys", b"{}", token="FwoGZXIvYXdzEXAMPLETOKEN"))
seed("sigv4_header", signed("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", b"{}", service="cloudtrail"))

# SigV4 test suite requests (header form) and the query strings among them.
for req in sorted((REPO / "crates/kinko-sigv4/tests/vectors").rglob("*")):
    if req.name.endswith(".req") or req.name == "header-signed-request.txt":
        text = req.read_bytes().replace(b"\r\n", b"\n")
        seed("sigv4_header", text)
        first = text.split(b"\n", 1)[0].decode(errors="replace")
        if "?" in first:
            seed("sigv4_query", first.split(" ")[1].split("?", 1)[1])
for q in [
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fkms%2Faws4_request"
    "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
    "Action=ListUsers&Version=2010-05-08",
    "a=1&b=%20c&c=%E2%82%AC&=&d&Param-3=Value3&param2=value2&param1=value1",
]:
    seed("sigv4_query", q)

# IAM and STS Query bodies, as botocore serializes them.
for body in [
    "Action=ListUsers&Version=2010-05-08",
    "Action=CreateUser&Version=2010-05-08&UserName=alice&Path=%2F&Tags.member.1.Key=team&Tags.member.1.Value=blue",
    "Action=PutUserPolicy&Version=2010-05-08&UserName=alice&PolicyName=p&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%7D",
    "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fr&RoleSessionName=s&DurationSeconds=900",
    "Action=GetCallerIdentity&Version=2011-06-15",
    "Action=ListAccessKeys&MaxItems=10&Marker=abc+def",
]:
    seed("query_form", body)
    seed("sigv4_header", signed(None, body.encode(), service="iam", content_type="application/x-www-form-urlencoded; charset=utf-8"))

# CloudTrail LookupEvents.
for body in [
    {},
    {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}], "MaxResults": 5},
    {"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "false"}], "StartTime": 1700000000, "EndTime": 1800000000.5},
    {"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": ARN}], "EventCategory": "insight"},
    {"NextToken": base64.urlsafe_b64encode(b"ct1\n0123456789abcdef\nfp\n1700000000000\n3\nchain").decode().rstrip("="),
     "LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "alice"}]},
]:
    seed("lookup_events", json.dumps(body))

# The TOML configuration.
for text in [
    'data_dir = "/var/lib/kinko"\nlisten = "0.0.0.0:7700"\nregion = "eu-west-1"\n',
    'store = "postgres://kinko@db/kinko"\nnode_id = "node-2"\naudit_digest_seconds = 10\naudit_retention_days = 365\njobs_interval_seconds = 5\n',
    'listen = "[::1]:7700"\nregion = "us-gov-west-1"\n',
    "",
]:
    seed("config_toml", text)

# Policies: the kind letter, the document, then a request context.
POLICIES = [
    ("K", {"Version": "2012-10-17", "Id": "key-default-1", "Statement": [{"Sid": "Enable IAM User Permissions",
           "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]}),
    ("K", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:role/app", "111122223333"]},
           "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
           "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": "${aws:username}"},
                         "ForAnyValue:StringLike": {"kms:EncryptionContextKeys": ["ten*"]},
                         "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "Bool": {"aws:SecureTransport": "true"},
                         "NumericLessThan": {"kms:RotationPeriodInDays": 400},
                         "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
                         "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}, "Null": {"kms:GranteePrincipal": "false"}}}]}),
    ("I", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "kms:ScheduleKeyDeletion",
           "NotResource": "arn:aws:kms:*:111122223333:key/secret-*"},
          {"Effect": "Deny", "Action": "kms:*", "Resource": "*", "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalTag/team": "blue"}}}]}),
    ("T", {"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
           "Condition": {"StringEquals": {"sts:ExternalId": "x"}}}}),
]
CONTEXT = "\n\0\narn:aws:iam::111122223333:user/alice\nkms:Decrypt\n" + ARN + "\nkms:encryptioncontext:tenant=alice\nkms:EncryptionContextKeys=tenant|purpose\naws:SourceIp=10.1.2.3\naws:SecureTransport=true\naws:CurrentTime=@1700000000\nkms:RotationPeriodInDays=365"
for kind, doc in POLICIES:
    seed("policy", kind + json.dumps(doc) + CONTEXT)
    seed("policy", kind + json.dumps(doc))

# Ciphertext blobs: a v1 header shape and a short one.
seed("ciphertext_blob", base64.b64decode(BLOB))
seed("ciphertext_blob", b"K\x01" + b"\x00" * 200)

# Backup values: a few rows' worth of column values and an empty audit batch.
seed("backup", b"\x01\x0c111122223333\x01" + (1700000000000).to_bytes(8, "big"))
seed("backup", (0).to_bytes(4, "big") + b"\x02" + (1).to_bytes(4, "big"))
