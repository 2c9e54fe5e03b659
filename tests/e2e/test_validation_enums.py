"""Every enum member of the KMS API, given a value outside its set, is refused as AWS refuses it:
`ValidationException` with `1 validation error detected: Value 'X' at '<member>' failed to satisfy
constraint: Member must satisfy enum value set: [...]`, the values listed in the order of
botocore's API model (issue 21). The expected message is built from the model, not written here."""

from __future__ import annotations

import botocore.session
import pytest

from kinko_helpers import expect_error

MODEL = botocore.session.get_session().get_service_model("kms")
BOGUS = "BOGUS_VALUE"

# (operation, a request that is valid but for the member under test, the enum members to try)
CASES = [
    ("CreateKey", {}, ["KeySpec", "KeyUsage", "Origin", "CustomerMasterKeySpec"]),
    ("Encrypt", {"Plaintext": b"x"}, ["EncryptionAlgorithm"]),
    ("Decrypt", {"CiphertextBlob": b"x" * 32}, ["EncryptionAlgorithm"]),
    ("ReEncrypt", {"CiphertextBlob": b"x" * 32, "DestinationKeyId": "KEY"},
     ["SourceEncryptionAlgorithm", "DestinationEncryptionAlgorithm"]),
    ("GenerateDataKey", {}, ["KeySpec"]),
    ("GenerateDataKeyWithoutPlaintext", {}, ["KeySpec"]),
    ("GenerateDataKeyPair", {}, ["KeyPairSpec"]),
    ("GenerateDataKeyPairWithoutPlaintext", {}, ["KeyPairSpec"]),
    ("Sign", {"Message": b"x", "SigningAlgorithm": "ECDSA_SHA_256"}, ["SigningAlgorithm", "MessageType"]),
    ("Verify", {"Message": b"x", "Signature": b"x", "SigningAlgorithm": "ECDSA_SHA_256"},
     ["SigningAlgorithm", "MessageType"]),
    ("GenerateMac", {"Message": b"x", "MacAlgorithm": "HMAC_SHA_256"}, ["MacAlgorithm"]),
    ("VerifyMac", {"Message": b"x", "Mac": b"x", "MacAlgorithm": "HMAC_SHA_256"}, ["MacAlgorithm"]),
    ("GetParametersForImport", {"WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"},
     ["WrappingAlgorithm", "WrappingKeySpec"]),
    ("ListKeyRotations", {}, ["IncludeKeyMaterial"]),
    ("DeriveSharedSecret", {"KeyAgreementAlgorithm": "ECDH", "PublicKey": b"x"}, ["KeyAgreementAlgorithm"]),
]


def _expected(member: str, enum: list[str]) -> str:
    at = member[0].lower() + member[1:]
    return (
        f"1 validation error detected: Value '{BOGUS}' at '{at}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(enum)}]"
    )


@pytest.mark.parametrize(
    "operation,base,member",
    [(op, base, m) for op, base, members in CASES for m in members],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_an_enum_member_outside_its_set(kms_nov, key, operation, base, member):
    shape = MODEL.operation_model(operation).input_shape
    enum = shape.members[member].enum
    assert enum, f"{operation}.{member} is an enum in the model"
    request = {k: (key["KeyId"] if v == "KEY" else v) for k, v in base.items()}
    if "KeyId" in shape.members and operation != "CreateKey":
        request["KeyId"] = key["KeyId"]
    request[member] = BOGUS
    client_method = getattr(kms_nov, botocore.xform_name(operation))
    err = expect_error("ValidationException", client_method, **request)
    assert err.response["Error"]["Message"] == _expected(member, enum)
