"""Symmetric cryptographic operations through boto3 (reference §2, §3, §5, §8, §10)."""

from __future__ import annotations

import os

import pytest

from kinko_helpers import (
    KEY_ARN_RE,
    expect_error,
    key_arn,
    random_key_id,
    unique_alias,
)

REGION = "us-east-1"


def _remember(observed_secrets, *values):
    for v in values:
        if isinstance(v, (bytes, bytearray)) and len(v) >= 16:
            observed_secrets.append(bytes(v))


# --------------------------------------------------------------------------- Encrypt / Decrypt


def test_encrypt_decrypt_round_trip_without_key_id(kms, key, observed_secrets):
    pt = os.urandom(64)
    _remember(observed_secrets, pt)
    r = kms.encrypt(KeyId=key["KeyId"], Plaintext=pt)
    assert r["KeyId"] == key["Arn"]  # full key ARN, even when a bare id was sent
    assert r["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    ct = r["CiphertextBlob"]
    assert isinstance(ct, bytes) and len(ct) > len(pt)
    assert pt not in ct

    d = kms.decrypt(CiphertextBlob=ct)  # no KeyId: the blob names its key
    assert d["Plaintext"] == pt
    assert d["KeyId"] == key["Arn"]
    assert d["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    if "KeyMaterialId" in d:
        assert len(d["KeyMaterialId"]) == 64 and int(d["KeyMaterialId"], 16) >= 0


def test_decrypt_with_every_key_id_form(kms, key, account_id):
    alias = unique_alias()
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    try:
        ct = kms.encrypt(KeyId=key["Arn"], Plaintext=b"forms")["CiphertextBlob"]
        for ident in (key["KeyId"], key["Arn"], alias, f"arn:aws:kms:{REGION}:{account_id}:{alias}"):
            d = kms.decrypt(CiphertextBlob=ct, KeyId=ident)
            assert d["Plaintext"] == b"forms", ident
            assert d["KeyId"] == key["Arn"], ident
    finally:
        kms.delete_alias(AliasName=alias)


def test_encrypt_is_randomized(kms, key):
    a = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"same")["CiphertextBlob"]
    b = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"same")["CiphertextBlob"]
    assert a != b
    assert kms.decrypt(CiphertextBlob=a)["Plaintext"] == kms.decrypt(CiphertextBlob=b)["Plaintext"] == b"same"


def test_encryption_context_round_trip_order_independent(kms, key):
    ctx = {"purpose": "e2e", "tenant": "ünïcødé ✓", "a": "1", "empty-ish": " "}
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"ctx", EncryptionContext=ctx)["CiphertextBlob"]
    reordered = dict(reversed(list(ctx.items())))
    assert list(reordered) != list(ctx)
    assert kms.decrypt(CiphertextBlob=ct, EncryptionContext=reordered)["Plaintext"] == b"ctx"
    assert kms.decrypt(CiphertextBlob=ct, EncryptionContext=dict(ctx))["Plaintext"] == b"ctx"


@pytest.mark.parametrize(
    "bad",
    [
        None,  # missing entirely
        {"purpose": "e2e"},  # missing pair
        {"purpose": "e2e", "tenant": "t1", "extra": "x"},  # extra pair
        {"purpose": "e2e", "tenant": "t2"},  # wrong value
        {"Purpose": "e2e", "tenant": "t1"},  # key case differs
        {"purpose": "E2E", "tenant": "t1"},  # value case differs
        {"purposetenant": "e2et1"},  # naive concatenation collision
    ],
)
def test_encryption_context_mismatch(kms, key, bad):
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"ctx", EncryptionContext={"purpose": "e2e", "tenant": "t1"})[
        "CiphertextBlob"
    ]
    kw = {} if bad is None else {"EncryptionContext": bad}
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=ct, **kw)


def test_context_given_on_decrypt_only(kms, key):
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"noctx")["CiphertextBlob"]
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=ct, EncryptionContext={"k": "v"})


def test_empty_context_equals_no_context(kms, key):
    # [?] reference §5 suggests treating {} like an absent context.
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"empty")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=ct, EncryptionContext={})["Plaintext"] == b"empty"
    ct2 = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"empty2", EncryptionContext={})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=ct2)["Plaintext"] == b"empty2"


def test_every_single_bit_flip_is_rejected(kms, key):
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"tamper me", EncryptionContext={"k": "v"})["CiphertextBlob"]
    failures = []
    for i in range(len(ct)):
        for bit in (0x01, 0x80):
            bad = bytearray(ct)
            bad[i] ^= bit
            try:
                kms.decrypt(CiphertextBlob=bytes(bad), EncryptionContext={"k": "v"})
                failures.append((i, bit, "accepted"))
            except kms.exceptions.InvalidCiphertextException:
                pass
            except Exception as e:  # noqa: BLE001 - collect every deviation
                failures.append((i, bit, getattr(e, "response", {}).get("Error", {}).get("Code", repr(e))))
    assert not failures, f"{len(failures)} of {2 * len(ct)} flips not InvalidCiphertextException: {failures[:10]}"


def test_truncated_and_extended_ciphertext(kms, key):
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"truncate")["CiphertextBlob"]
    for bad in (ct[:-1], ct[:-16], ct[: len(ct) // 2], ct[:1], ct + b"\x00", ct + ct):
        expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=bad)


def test_foreign_random_bytes(kms):
    for n in (1, 16, 100, 200, 1000):
        expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=os.urandom(n))


def test_ciphertext_too_long(kms):
    # CiphertextType is 1..6144 bytes
    expect_error("ValidationException", kms.decrypt, CiphertextBlob=os.urandom(6145))


def test_wrong_key_id_on_decrypt(kms, key, key2):
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"which key")["CiphertextBlob"]
    expect_error("IncorrectKeyException", kms.decrypt, CiphertextBlob=ct, KeyId=key2["KeyId"])
    expect_error("IncorrectKeyException", kms.decrypt, CiphertextBlob=ct, KeyId=key2["Arn"])


def test_decrypt_with_unknown_key_id(kms, key):
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    expect_error({"NotFoundException", "IncorrectKeyException"}, kms.decrypt, CiphertextBlob=ct, KeyId=random_key_id())


def test_plaintext_limits(kms, key):
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"\xff" * 4096)["CiphertextBlob"]
    assert len(ct) <= 6144  # must fit CiphertextType so it can be sent back
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"\xff" * 4096
    assert kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=key["KeyId"], Plaintext=b"\0")["CiphertextBlob"])[
        "Plaintext"
    ] == b"\0"
    e = expect_error("ValidationException", kms.encrypt, KeyId=key["KeyId"], Plaintext=b"a" * 4097)
    assert e.response["Error"]["Message"], "ValidationException without a message"


def test_empty_plaintext_rejected(kms_nov, key):
    expect_error("ValidationException", kms_nov.encrypt, KeyId=key["KeyId"], Plaintext=b"")


def test_encryption_algorithm_parameter(kms, key):
    r = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"alg", EncryptionAlgorithm="SYMMETRIC_DEFAULT")
    assert r["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    d = kms.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionAlgorithm="SYMMETRIC_DEFAULT")
    assert d["Plaintext"] == b"alg"
    # An algorithm that does not fit the key spec -> InvalidKeyUsageException (§3)
    expect_error(
        "InvalidKeyUsageException",
        kms.encrypt,
        KeyId=key["KeyId"],
        Plaintext=b"alg",
        EncryptionAlgorithm="RSAES_OAEP_SHA_256",
    )
    # Not an enum value at all -> ValidationException
    expect_error("ValidationException", kms.encrypt, KeyId=key["KeyId"], Plaintext=b"alg", EncryptionAlgorithm="ROT13")


def test_too_many_grant_tokens(kms, key):
    # GrantTokens: 0..10 entries
    expect_error(
        "ValidationException", kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x", GrantTokens=["t"] * 11
    )


# --------------------------------------------------------------------------- key identification errors


def test_unknown_key(kms, account_id):
    expect_error("NotFoundException", kms.encrypt, KeyId=random_key_id(), Plaintext=b"x")
    expect_error("NotFoundException", kms.encrypt, KeyId=key_arn(REGION, account_id, random_key_id()), Plaintext=b"x")
    expect_error("NotFoundException", kms.encrypt, KeyId=unique_alias("missing"), Plaintext=b"x")
    expect_error("NotFoundException", kms.generate_data_key, KeyId=random_key_id(), KeySpec="AES_256")


def test_malformed_key_ids(kms):
    # Reference §5: unknown or unsupported identifiers -> NotFoundException.
    for ident in ("not-a-key", "1234", "key/" + random_key_id(), random_key_id().upper() + "x"):
        expect_error("NotFoundException", kms.encrypt, KeyId=ident, Plaintext=b"x")
    # Longer than KeyIdType's 2048 characters -> ValidationException.
    expect_error("ValidationException", kms.encrypt, KeyId="a" * 2049, Plaintext=b"x")
    # [?] syntactically broken ARN: the reference suggests InvalidArnException; NotFound is also seen.
    expect_error({"InvalidArnException", "NotFoundException"}, kms.encrypt, KeyId="arn:aws:kms:broken", Plaintext=b"x")


# --------------------------------------------------------------------------- ReEncrypt


def test_reencrypt_between_keys_with_context_change(kms, key, key2):
    ctx1, ctx2 = {"stage": "one"}, {"stage": "two", "x": "y"}
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"move me", EncryptionContext=ctx1)["CiphertextBlob"]
    r = kms.re_encrypt(
        CiphertextBlob=ct,
        SourceEncryptionContext=ctx1,
        DestinationKeyId=key2["KeyId"],
        DestinationEncryptionContext=ctx2,
    )
    assert r["SourceKeyId"] == key["Arn"]
    assert r["KeyId"] == key2["Arn"]
    assert r["SourceEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert r["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    new = r["CiphertextBlob"]
    assert new != ct
    d = kms.decrypt(CiphertextBlob=new, EncryptionContext=ctx2)
    assert d["Plaintext"] == b"move me" and d["KeyId"] == key2["Arn"]
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=new, EncryptionContext=ctx1)
    expect_error("IncorrectKeyException", kms.decrypt, CiphertextBlob=new, EncryptionContext=ctx2, KeyId=key["KeyId"])
    # the source blob is still valid under the source key
    assert kms.decrypt(CiphertextBlob=ct, EncryptionContext=ctx1)["Plaintext"] == b"move me"


def test_reencrypt_same_key_new_context(kms, key):
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"same key")["CiphertextBlob"]
    r = kms.re_encrypt(CiphertextBlob=ct, DestinationKeyId=key["Arn"], DestinationEncryptionContext={"v": "2"})
    assert r["KeyId"] == r["SourceKeyId"] == key["Arn"]
    assert kms.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext={"v": "2"})["Plaintext"] == b"same key"
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=r["CiphertextBlob"])


def test_reencrypt_errors(kms, key, key2, new_key):
    ctx = {"a": "b"}
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"re", EncryptionContext=ctx)["CiphertextBlob"]
    expect_error("InvalidCiphertextException", kms.re_encrypt, CiphertextBlob=ct, DestinationKeyId=key2["KeyId"])
    expect_error(
        "InvalidCiphertextException",
        kms.re_encrypt,
        CiphertextBlob=ct,
        SourceEncryptionContext={"a": "c"},
        DestinationKeyId=key2["KeyId"],
    )
    expect_error(
        "IncorrectKeyException",
        kms.re_encrypt,
        CiphertextBlob=ct,
        SourceEncryptionContext=ctx,
        SourceKeyId=key2["KeyId"],
        DestinationKeyId=key2["KeyId"],
    )
    expect_error(
        "NotFoundException",
        kms.re_encrypt,
        CiphertextBlob=ct,
        SourceEncryptionContext=ctx,
        DestinationKeyId=random_key_id(),
    )
    disabled = new_key()
    kms.disable_key(KeyId=disabled["KeyId"])
    expect_error(
        "DisabledException",
        kms.re_encrypt,
        CiphertextBlob=ct,
        SourceEncryptionContext=ctx,
        DestinationKeyId=disabled["KeyId"],
    )
    expect_error(
        "InvalidCiphertextException", kms.re_encrypt, CiphertextBlob=os.urandom(120), DestinationKeyId=key2["KeyId"]
    )


def test_reencrypt_with_source_key_id_and_alias_destination(kms, key, key2):
    alias = unique_alias()
    kms.create_alias(AliasName=alias, TargetKeyId=key2["KeyId"])
    try:
        ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"alias dest")["CiphertextBlob"]
        r = kms.re_encrypt(CiphertextBlob=ct, SourceKeyId=key["Arn"], DestinationKeyId=alias)
        assert r["KeyId"] == key2["Arn"]
        assert kms.decrypt(CiphertextBlob=r["CiphertextBlob"])["Plaintext"] == b"alias dest"
    finally:
        kms.delete_alias(AliasName=alias)


# --------------------------------------------------------------------------- GenerateDataKey


@pytest.mark.parametrize("spec,length", [("AES_128", 16), ("AES_256", 32)])
def test_generate_data_key_key_spec(kms, key, spec, length, observed_secrets):
    ctx = {"dk": spec}
    r = kms.generate_data_key(KeyId=key["KeyId"], KeySpec=spec, EncryptionContext=ctx)
    _remember(observed_secrets, r["Plaintext"])
    assert len(r["Plaintext"]) == length
    assert r["KeyId"] == key["Arn"]
    d = kms.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext=ctx)
    assert d["Plaintext"] == r["Plaintext"]
    assert d["KeyId"] == key["Arn"]
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=r["CiphertextBlob"])


@pytest.mark.parametrize("n", [1, 16, 24, 32, 64, 1024])
def test_generate_data_key_number_of_bytes(kms, key, n, observed_secrets):
    r = kms.generate_data_key(KeyId=key["Arn"], NumberOfBytes=n)
    _remember(observed_secrets, r["Plaintext"])
    assert len(r["Plaintext"]) == n
    assert kms.decrypt(CiphertextBlob=r["CiphertextBlob"])["Plaintext"] == r["Plaintext"]


def test_generate_data_key_is_random(kms, key, observed_secrets):
    a = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    b = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    _remember(observed_secrets, a["Plaintext"], b["Plaintext"])
    assert a["Plaintext"] != b["Plaintext"]
    assert a["CiphertextBlob"] != b["CiphertextBlob"]
    assert a["Plaintext"] != b"\0" * 32


def test_generate_data_key_parameter_validation(kms, kms_nov, key):
    expect_error("ValidationException", kms.generate_data_key, KeyId=key["KeyId"])  # neither
    expect_error(
        "ValidationException", kms.generate_data_key, KeyId=key["KeyId"], KeySpec="AES_256", NumberOfBytes=32
    )  # both
    expect_error("ValidationException", kms.generate_data_key, KeyId=key["KeyId"], KeySpec="AES_512")
    expect_error("ValidationException", kms.generate_data_key, KeyId=key["KeyId"], NumberOfBytes=1025)
    expect_error("ValidationException", kms_nov.generate_data_key, KeyId=key["KeyId"], NumberOfBytes=0)


def test_generate_data_key_via_alias(kms, key, observed_secrets):
    alias = unique_alias()
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    try:
        r = kms.generate_data_key(KeyId=alias, NumberOfBytes=32)
        _remember(observed_secrets, r["Plaintext"])
        assert r["KeyId"] == key["Arn"]
    finally:
        kms.delete_alias(AliasName=alias)


def test_generate_data_key_without_plaintext(kms, key):
    ctx = {"wp": "1"}
    r = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_256", EncryptionContext=ctx)
    assert "Plaintext" not in r
    assert r["KeyId"] == key["Arn"]
    pt = kms.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext=ctx)["Plaintext"]
    assert len(pt) == 32
    r2 = kms.generate_data_key_without_plaintext(KeyId=key["Arn"], NumberOfBytes=64)
    assert "Plaintext" not in r2
    assert len(kms.decrypt(CiphertextBlob=r2["CiphertextBlob"])["Plaintext"]) == 64
    r3 = kms.generate_data_key_without_plaintext(KeyId=key["Arn"], KeySpec="AES_128")
    assert len(kms.decrypt(CiphertextBlob=r3["CiphertextBlob"])["Plaintext"]) == 16
    expect_error("ValidationException", kms.generate_data_key_without_plaintext, KeyId=key["KeyId"])
    expect_error(
        "ValidationException",
        kms.generate_data_key_without_plaintext,
        KeyId=key["KeyId"],
        KeySpec="AES_128",
        NumberOfBytes=16,
    )


# --------------------------------------------------------------------------- GenerateRandom


@pytest.mark.parametrize("n", [1, 2, 31, 32, 1000, 1024])
def test_generate_random_lengths(kms, n):
    assert len(kms.generate_random(NumberOfBytes=n)["Plaintext"]) == n


def test_generate_random_differs(kms):
    a = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    b = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    assert a != b
    big = kms.generate_random(NumberOfBytes=1024)["Plaintext"]
    assert len(set(big)) > 150, "1024 random bytes with few distinct values"


def test_generate_random_out_of_range(kms, kms_nov):
    expect_error("ValidationException", kms_nov.generate_random, NumberOfBytes=0)
    expect_error("ValidationException", kms.generate_random, NumberOfBytes=1025)
    # The model marks it optional but the docs say it is required (reference §2).
    expect_error("ValidationException", kms.generate_random)


# --------------------------------------------------------------------------- region


def test_region_comes_from_the_client(make_client, observed_secrets):
    eu = make_client("eu-west-1")
    md = eu.create_key(Description="eu key")["KeyMetadata"]
    m = KEY_ARN_RE.match(md["Arn"])
    assert m and m["region"] == "eu-west-1" and m["key_id"] == md["KeyId"], md["Arn"]
    r = eu.encrypt(KeyId=md["KeyId"], Plaintext=b"eu")
    assert r["KeyId"] == md["Arn"]
    d = eu.decrypt(CiphertextBlob=r["CiphertextBlob"])
    assert d["KeyId"] == md["Arn"] and d["Plaintext"] == b"eu"
    g = eu.generate_data_key(KeyId=md["Arn"], NumberOfBytes=32)
    _remember(observed_secrets, g["Plaintext"])
    assert g["KeyId"] == md["Arn"]
    assert eu.describe_key(KeyId=md["Arn"])["KeyMetadata"]["Arn"] == md["Arn"]
    listed = {k["KeyId"]: k["KeyArn"] for p in eu.get_paginator("list_keys").paginate() for k in p["Keys"]}
    assert listed.get(md["KeyId"]) == md["Arn"]


def test_response_key_arns_use_client_region(kms, key):
    for resp in (
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"r"),
        kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_128"),
    ):
        m = KEY_ARN_RE.match(resp["KeyId"])
        assert m and m["region"] == REGION and m["partition"] == "aws" and m["key_id"] == key["KeyId"]


def test_decrypt_with_unfit_algorithm(kms, key):
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"alg")["CiphertextBlob"]
    expect_error(
        "InvalidKeyUsageException", kms.decrypt, CiphertextBlob=ct, KeyId=key["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_1"
    )


def test_concurrent_clients(make_client, key):
    # Many simultaneous writers and crypto calls: no 5xx, no "database is locked", nothing lost.
    from concurrent.futures import ThreadPoolExecutor

    client = make_client(max_pool_connections=32)

    def work(i):
        md = client.create_key(Description=f"concurrent {i}")["KeyMetadata"]
        client.tag_resource(KeyId=md["KeyId"], Tags=[{"TagKey": "i", "TagValue": str(i)}])
        alias = unique_alias(f"conc{i}")
        client.create_alias(AliasName=alias, TargetKeyId=md["KeyId"])
        pt = f"message {i}".encode()
        ct = client.encrypt(KeyId=alias, Plaintext=pt, EncryptionContext={"i": str(i)})["CiphertextBlob"]
        ct2 = client.encrypt(KeyId=key["KeyId"], Plaintext=pt)["CiphertextBlob"]
        assert client.decrypt(CiphertextBlob=ct, EncryptionContext={"i": str(i)})["Plaintext"] == pt
        assert client.decrypt(CiphertextBlob=ct2)["Plaintext"] == pt
        client.delete_alias(AliasName=alias)
        return md["KeyId"]

    with ThreadPoolExecutor(max_workers=24) as pool:
        ids = list(pool.map(work, range(48)))
    assert len(set(ids)) == 48
    listed = {k["KeyId"] for p in client.get_paginator("list_keys").paginate() for k in p["Keys"]}
    assert set(ids) <= listed
    for i, kid in enumerate(ids[:5]):
        assert client.list_resource_tags(KeyId=kid)["Tags"] == [{"TagKey": "i", "TagValue": str(i)}]
