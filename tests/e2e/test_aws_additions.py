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


# Members the model has that Kinko does not answer, with the reason (none today).
NOT_SERVED: dict[str, str] = {}


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

    primary = kms.create_key(MultiRegion=True, Description="additions: replicated material id")["KeyMetadata"]
    replicated = kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="us-west-2")

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
        # Replicas share the primary's material.
        "ReplicateKey": (replicated, {primary["CurrentKeyMaterialId"]}),
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


# --------------------------------------------------------------------------- service principals

SERVICE = "logs.us-east-1.amazonaws.com"


def source_arn(account_id: str, name: str = "group") -> str:
    return f"arn:aws:logs:us-east-1:{account_id}:log-group:{name}"


@pytest.fixture(scope="module")
def world(kinko, kms, account_id):
    from authz_helpers import World

    return World(kinko, kms, account_id)


def test_grant_to_a_service_principal_is_listed_and_filtered(kms, account_id):
    md = kms.create_key(Description="additions: service grant")["KeyMetadata"]
    root = f"arn:aws:iam::{account_id}:root"
    made = kms.create_grant(
        KeyId=md["KeyId"],
        GranteeServicePrincipal=SERVICE,
        RetiringServicePrincipal="logs.amazonaws.com",
        Operations=["Encrypt", "Decrypt", "GenerateDataKey"],
        Constraints={"SourceArn": source_arn(account_id)},
    )
    person = kms.create_grant(
        KeyId=md["KeyId"], GranteePrincipal=root, RetiringPrincipal=root, Operations=["DescribeKey"]
    )

    by_id = {g["GrantId"]: g for g in kms.list_grants(KeyId=md["KeyId"])["Grants"]}
    entry = by_id[made["GrantId"]]
    assert entry["GranteeServicePrincipal"] == SERVICE
    assert entry["RetiringServicePrincipal"] == "logs.amazonaws.com"
    assert "GranteePrincipal" not in entry and "RetiringPrincipal" not in entry
    assert entry["Constraints"] == {"SourceArn": source_arn(account_id)}
    assert entry["Operations"] == ["Encrypt", "Decrypt", "GenerateDataKey"]
    assert by_id[person["GrantId"]]["GranteePrincipal"] == root
    assert "GranteeServicePrincipal" not in by_id[person["GrantId"]]

    only = kms.list_grants(KeyId=md["KeyId"], GranteeServicePrincipal=SERVICE)["Grants"]
    assert [g["GrantId"] for g in only] == [made["GrantId"]]
    assert kms.list_grants(KeyId=md["KeyId"], GranteeServicePrincipal="s3.us-east-1.amazonaws.com")["Grants"] == []
    assert [g["GrantId"] for g in kms.list_grants(KeyId=md["KeyId"], GranteePrincipal=root)["Grants"]] == [person["GrantId"]]
    expect_error(
        "ValidationException", kms.list_grants, KeyId=md["KeyId"], GranteePrincipal=root, GranteeServicePrincipal=SERVICE
    )

    retirable = kms.list_retirable_grants(RetiringServicePrincipal="logs.amazonaws.com")["Grants"]
    assert made["GrantId"] in [g["GrantId"] for g in retirable]
    assert person["GrantId"] not in [g["GrantId"] for g in retirable]
    assert made["GrantId"] not in [g["GrantId"] for g in kms.list_retirable_grants(RetiringPrincipal=root)["Grants"]]
    expect_error(
        "ValidationException",
        kms.list_retirable_grants,
        RetiringPrincipal=root,
        RetiringServicePrincipal="logs.amazonaws.com",
    )

    # The key's account retires it; a grant to a service is no different there.
    kms.retire_grant(KeyId=md["Arn"], GrantId=made["GrantId"])
    assert made["GrantId"] not in [g["GrantId"] for g in kms.list_grants(KeyId=md["KeyId"])["Grants"]]


def test_service_grant_validation(kms, kms_nov, account_id):
    md = kms.create_key()["KeyMetadata"]
    root = f"arn:aws:iam::{account_id}:root"
    good = dict(
        KeyId=md["KeyId"],
        GranteeServicePrincipal=SERVICE,
        RetiringPrincipal=root,
        Operations=["Encrypt"],
        Constraints={"SourceArn": source_arn(account_id)},
    )
    kms.create_grant(**good)
    cases = [
        ({"Constraints": None}, "SourceArn"),
        ({"Constraints": {"EncryptionContextSubset": {"a": "b"}}}, "SourceArn"),
        ({"RetiringPrincipal": None}, "RetiringPrincipal or a RetiringServicePrincipal"),
        ({"GranteePrincipal": root}, "either GranteePrincipal or GranteeServicePrincipal, but not both"),
        ({"GranteeServicePrincipal": None}, "either GranteePrincipal or GranteeServicePrincipal"),
        ({"RetiringServicePrincipal": "logs.amazonaws.com"}, "either RetiringPrincipal or RetiringServicePrincipal, but not both"),
        ({"GranteeServicePrincipal": "amazonaws.com"}, "at 'granteeServicePrincipal' failed to satisfy constraint: Member must satisfy regular expression pattern"),
        ({"GranteeServicePrincipal": "logs.amazon_aws.com"}, "at 'granteeServicePrincipal'"),
        ({"Constraints": {"SourceArn": "arn:aws:logs:us-east-1:1234:log-group:x"}}, "at 'constraints.sourceArn'"),
        ({"Constraints": {"SourceArn": "arn:aws:x"}}, "Member must have length between 20 and 512"),
    ]
    before = len(kms.list_grants(KeyId=md["KeyId"])["Grants"])
    for change, text in cases:
        request = {k: v for k, v in {**good, **change}.items() if v is not None}
        e = expect_error("ValidationException", kms_nov.create_grant, **request)
        assert text in e.response["Error"]["Message"], (change, e.response["Error"]["Message"])
    assert len(kms.list_grants(KeyId=md["KeyId"])["Grants"]) == before, "a refused CreateGrant changed nothing"


def test_a_service_grant_allows_no_direct_caller_anything(kms, world, account_id):
    """Services do not call Kinko, and no request is made on behalf of a resource: grants to a
    service principal, or with a SourceArn constraint, never allow a direct caller."""
    user = world.user()  # no policy of its own: only grants could let it in
    md = kms.create_key(Description="additions: service grant authz")["KeyMetadata"]

    def encrypt():
        return user.kms.encrypt(KeyId=md["Arn"], Plaintext=b"x")

    expect_error("AccessDeniedException", encrypt)
    kms.create_grant(
        KeyId=md["KeyId"],
        GranteeServicePrincipal=SERVICE,
        RetiringPrincipal=user.arn,
        Operations=["Encrypt", "DescribeKey"],
        Constraints={"SourceArn": source_arn(account_id)},
    )
    expect_error("AccessDeniedException", encrypt)
    # A grant to the user itself, but constrained to a SourceArn: still nothing.
    sourced = kms.create_grant(
        KeyId=md["KeyId"],
        GranteePrincipal=user.arn,
        Operations=["Encrypt"],
        Constraints={"SourceArn": source_arn(account_id, "other")},
    )
    expect_error("AccessDeniedException", encrypt)
    expect_error(
        "AccessDeniedException",
        user.kms.encrypt,
        KeyId=md["Arn"],
        Plaintext=b"x",
        GrantTokens=[sourced["GrantToken"]],
    )
    # The control: the same grant without the constraint lets the user in.
    kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=user.arn, Operations=["Encrypt"])
    assert encrypt()["KeyId"] == md["Arn"]
