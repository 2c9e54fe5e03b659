"""AWS KMS's 2025–2026 additions, with boto3 against the session's server (issue 21, item 5):
GetKeyRotationStatus on asymmetric and HMAC keys, ListKeyRotations' Limit, ImportKeyMaterial
while new material is already pending, and `KeyMaterialId` wherever the botocore model returns it
(walked from the model itself, so a newer model with more such members fails here until Kinko
answers them)."""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import re

import botocore
import pytest

from kinko_helpers import expect_error
from test_lifecycle import import_material

MATERIAL_ID = re.compile(r"^[0-9a-f]{64}$")


def kms_model() -> dict:
    root = pathlib.Path(botocore.__file__).parent / "data" / "kms"
    [path] = sorted(root.glob("*/service-2.json*"))[-1:]
    raw = path.read_bytes()
    return json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)


# --------------------------------------------------------------------------- rotation status


@pytest.mark.parametrize(
    "spec,usage",
    [
        ("RSA_2048", "ENCRYPT_DECRYPT"),
        ("RSA_3072", "SIGN_VERIFY"),
        ("ECC_NIST_P256", "SIGN_VERIFY"),
        ("ECC_NIST_P384", "KEY_AGREEMENT"),
        ("HMAC_256", "GENERATE_VERIFY_MAC"),
        ("HMAC_512", "GENERATE_VERIFY_MAC"),
    ],
)
def test_rotation_status_of_asymmetric_and_hmac_keys_is_not_enabled(kms, spec, usage):
    """AWS answered UnsupportedOperationException until 2025; it now answers KeyRotationEnabled
    false for keys that never rotate. Turning rotation on is still refused."""
    md = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
    status = kms.get_key_rotation_status(KeyId=md["KeyId"])
    assert status["KeyRotationEnabled"] is False
    assert status["KeyId"] == md["Arn"]
    for absent in ("RotationPeriodInDays", "NextRotationDate", "OnDemandRotationStartDate"):
        assert absent not in status, status
    assert kms.get_key_rotation_status(KeyId=md["Arn"])["KeyRotationEnabled"] is False
    expect_error("UnsupportedOperationException", kms.enable_key_rotation, KeyId=md["KeyId"])
    # Still a key operation: disabled and pending-deletion keys answer too, unknown ones do not.
    kms.disable_key(KeyId=md["KeyId"])
    assert kms.get_key_rotation_status(KeyId=md["KeyId"])["KeyRotationEnabled"] is False
    expect_error("NotFoundException", kms.get_key_rotation_status, KeyId=md["KeyId"][:-4] + "0000")


def test_rotation_status_of_a_symmetric_key_is_unchanged(kms):
    md = kms.create_key()["KeyMetadata"]
    assert kms.get_key_rotation_status(KeyId=md["KeyId"])["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=md["KeyId"], RotationPeriodInDays=120)
    status = kms.get_key_rotation_status(KeyId=md["KeyId"])
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 120


# --------------------------------------------------------------------------- ListKeyRotations Limit


@pytest.mark.parametrize(
    "limit,constraint",
    [
        (0, "greater than or equal to 1"),
        (-5, "greater than or equal to 1"),
        (1001, "less than or equal to 1000"),
        (2**31 - 1, "less than or equal to 1000"),
    ],
)
def test_list_key_rotations_limit_out_of_range(kms, kms_nov, limit, constraint):
    md = kms.create_key()["KeyMetadata"]
    e = expect_error("ValidationException", kms_nov.list_key_rotations, KeyId=md["KeyId"], Limit=limit)
    assert e.response["Error"]["Message"] == (
        f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
        f"Member must have value {constraint}"
    )


def test_list_key_rotations_limit_edges(kms, kms_nov):
    md = kms.create_key()["KeyMetadata"]
    for _ in range(2):
        kms.rotate_key_on_demand(KeyId=md["KeyId"])
    one = kms_nov.list_key_rotations(KeyId=md["KeyId"], Limit=1)
    assert len(one["Rotations"]) == 1 and one["Truncated"] is True
    rest = kms_nov.list_key_rotations(KeyId=md["KeyId"], Limit=1000, Marker=one["NextMarker"])
    assert len(rest["Rotations"]) == 1 and rest["Truncated"] is False
    assert len(kms_nov.list_key_rotations(KeyId=md["KeyId"], Limit=1000)["Rotations"]) == 2


# --------------------------------------------------------------------------- ImportKeyMaterial


def test_new_key_material_while_one_is_pending_is_refused(kms):
    md = kms.create_key(Origin="EXTERNAL", Description="additions: one pending")["KeyMetadata"]
    kid, arn = md["KeyId"], md["Arn"]
    first, second, third = os.urandom(32), os.urandom(32), os.urandom(32)
    id_a = import_material(kms, kid, first)["KeyMaterialId"]
    id_b = import_material(kms, kid, second, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]

    e = expect_error("KMSInvalidStateException", import_material, kms, kid, third, ImportType="NEW_KEY_MATERIAL")
    message = e.response["Error"]["Message"]
    assert id_b in message and arn in message
    # Nothing changed: still the two materials, B still waiting.
    listed = {r["KeyMaterialId"]: r["KeyMaterialState"] for r in kms.list_key_rotations(KeyId=kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]}
    assert listed == {id_a: "CURRENT", id_b: "PENDING_ROTATION"}

    # Reimporting the pending material itself is still allowed.
    again = import_material(kms, kid, second, ImportType="EXISTING_KEY_MATERIAL", KeyMaterialId=id_b)
    assert again["KeyMaterialId"] == id_b

    # Once it is rotated in, new material may wait again.
    kms.rotate_key_on_demand(KeyId=kid)
    assert kms.describe_key(KeyId=kid)["KeyMetadata"]["CurrentKeyMaterialId"] == id_b
    id_c = import_material(kms, kid, third, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
    assert id_c not in (id_a, id_b)


# --------------------------------------------------------------------------- KeyMaterialId


def _material_id_paths(model: dict) -> set[str]:
    """`Operation.Member[.Member...]` for every output member whose name has KeyMaterialId."""
    shapes = model["shapes"]
    found: set[str] = set()

    def walk(name: str, path: str, seen: frozenset):
        shape = shapes[name]
        if name in seen:
            return
        seen = seen | {name}
        if shape["type"] == "structure":
            for member, ref in shape["members"].items():
                if "KeyMaterialId" in member:
                    found.add(f"{path}.{member}")
                walk(ref["shape"], f"{path}.{member}", seen)
        elif shape["type"] == "list":
            walk(shape["member"]["shape"], f"{path}[]", seen)
        elif shape["type"] == "map":
            walk(shape["value"]["shape"], f"{path}{{}}", seen)

    for op, spec in model["operations"].items():
        if "output" in spec:
            walk(spec["output"]["shape"], op, frozenset())
    return found


def _at(response: dict, path: str) -> list:
    """The values at `Op.A.B[].C` in `response` (the operation name dropped)."""
    values = [response]
    for part in path.split(".")[1:]:
        many = part.endswith("[]")
        key = part[:-2] if many else part
        nxt = []
        for v in values:
            if key in v:
                nxt.extend(v[key] if many else [v[key]])
            else:
                nxt.append(None)
        values = nxt
    return values


# Members the model has that Kinko does not answer, with the reason.
NOT_SERVED = {
    "ReplicateKey.ReplicaKeyMetadata.CurrentKeyMaterialId": "multi-Region keys are not implemented (ReplicateKey is UnsupportedOperationException)",
}


def test_key_material_id_wherever_the_model_returns_it(kms):
    """Each output member of the model named *KeyMaterialId is present, 64 lowercase hex, and
    names the material the operation used."""
    paths = _material_id_paths(kms_model())
    assert "Decrypt.KeyMaterialId" in paths and "ListKeyRotations.Rotations[].KeyMaterialId" in paths

    created = kms.create_key(Description="additions: material ids")
    kid = created["KeyMetadata"]["KeyId"]
    current = created["KeyMetadata"]["CurrentKeyMaterialId"]
    other = kms.create_key()["KeyMetadata"]
    kms.rotate_key_on_demand(KeyId=other["KeyId"])
    other_current = kms.describe_key(KeyId=other["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
    ct = kms.encrypt(KeyId=kid, Plaintext=b"which material")["CiphertextBlob"]

    external = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    imported = import_material(kms, external["KeyId"], os.urandom(32))

    responses = {
        "CreateKey": (created, {current}),
        "DescribeKey": (kms.describe_key(KeyId=kid), {current}),
        "Decrypt": (kms.decrypt(CiphertextBlob=ct), {current}),
        "GenerateDataKey": (kms.generate_data_key(KeyId=kid, KeySpec="AES_256"), {current}),
        "GenerateDataKeyWithoutPlaintext": (kms.generate_data_key_without_plaintext(KeyId=kid, NumberOfBytes=16), {current}),
        "GenerateDataKeyPair": (kms.generate_data_key_pair(KeyId=kid, KeyPairSpec="ECC_NIST_P256"), {current}),
        "GenerateDataKeyPairWithoutPlaintext": (
            kms.generate_data_key_pair_without_plaintext(KeyId=kid, KeyPairSpec="ECC_NIST_P256"),
            {current},
        ),
        "ReEncrypt": (kms.re_encrypt(CiphertextBlob=ct, DestinationKeyId=other["KeyId"]), {current, other_current}),
        "ListKeyRotations": (kms.list_key_rotations(KeyId=other["KeyId"]), {other_current}),
        "ImportKeyMaterial": (imported, {imported["KeyMaterialId"]}),
    }
    # Last: it removes the imported material.
    responses["DeleteImportedKeyMaterial"] = (
        kms.delete_imported_key_material(KeyId=external["KeyId"]),
        {imported["KeyMaterialId"]},
    )

    checked = set()
    for path in sorted(paths):
        if path in NOT_SERVED:
            continue
        op = path.split(".")[0]
        assert op in responses, f"the model returns {path}; this test makes no {op} call (add one)"
        response, expected = responses[op]
        values = _at(response, path)
        assert values and all(isinstance(v, str) and MATERIAL_ID.match(v) for v in values), (path, values)
        assert set(values) <= expected, (path, values, expected)
        checked.add(path)
    assert checked == paths - set(NOT_SERVED)
    re_enc = responses["ReEncrypt"][0]
    assert re_enc["SourceKeyMaterialId"] == current and re_enc["DestinationKeyMaterialId"] == other_current
