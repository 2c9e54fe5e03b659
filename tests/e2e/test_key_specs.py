"""Every AWS key spec through boto3: RSA, NIST/SECG ECC, Ed25519, ML-DSA, HMAC and ML-KEM keys
(reference §2 crypto-operation rows, §3 key spec × usage × algorithm matrix).

One key per (KeySpec, KeyUsage) is created per module (the `keys` cache) and shared by the
tests; tests that disable keys make their own.  Every signature, ciphertext, shared secret and
data key pair is also checked outside Kinko (Python `cryptography`, plus the pure-Python RFC 8032
Ed25519ph and FIPS 203 ML-KEM code in keyspec_helpers for what `cryptography` lacks), so a wrong
encoding cannot pass by agreeing with itself.
"""

from __future__ import annotations

import hashlib
import os

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem, padding

from keyspec_helpers import (
    ALGORITHM_FIELDS,
    CURVE_ORDERS,
    CURVES,
    DATA_KEY_PAIR_SPECS,
    DISALLOWED_PAIRS,
    ECDH_SECRET_BYTES,
    ECDH_SPECS,
    HMAC_BYTES,
    HMAC_SPECS,
    KEY_MATRIX,
    ML_DSA_SIG_BYTES,
    ML_DSA_SPECS,
    ML_KEM_CT_BYTES,
    ML_KEM_SPECS,
    NO_CMK_SPEC,
    RSA_BYTES,
    RSA_ENCRYPTION,
    RSA_MAX_PLAINTEXT,
    RSA_SPECS,
    SIGNING_PAIRS,
    check_data_key_pair,
    check_spki,
    digest,
    ed25519_pure_verify,
    ed25519ph_sign,
    ed25519ph_verify,
    hash_of,
    ml_dsa_mu,
    mlkem_encapsulate,
    mlkem_public_key_from_seed,
    parse_ecdsa_signature,
    parse_spki,
    spki_of,
    verify_locally,
)
from kinko_helpers import expect_error, unique_alias

ASYMMETRIC = [p for p in KEY_MATRIX if not p[0].startswith("HMAC_")]


def _ids(pairs):
    return ["-".join(p) for p in pairs]


def _remember(observed_secrets, *values):
    for v in values:
        if isinstance(v, (bytes, bytearray)) and len(v) >= 16:
            observed_secrets.append(bytes(v))


def _flip(b: bytes, i: int = -1, bit: int = 0x01) -> bytes:
    out = bytearray(b)
    out[i] ^= bit
    return bytes(out)


class KeyRing:
    """One key per (KeySpec, KeyUsage, slot), created on first use, and its GetPublicKey result."""

    def __init__(self, kms):
        self.kms = kms
        self._keys: dict = {}
        self._public: dict = {}

    def get(self, spec: str, usage: str, slot: int = 0) -> dict:
        k = (spec, usage, slot)
        if k not in self._keys:
            self._keys[k] = self.kms.create_key(
                KeySpec=spec, KeyUsage=usage, Description=f"e2e key spec {spec} {usage} #{slot}"
            )["KeyMetadata"]
        return self._keys[k]

    def public(self, spec: str, usage: str, slot: int = 0) -> dict:
        k = (spec, usage, slot)
        if k not in self._public:
            self._public[k] = self.kms.get_public_key(KeyId=self.get(spec, usage, slot)["KeyId"])
        return self._public[k]

    def spki(self, spec: str, usage: str, slot: int = 0) -> bytes:
        return self.public(spec, usage, slot)["PublicKey"]


@pytest.fixture(scope="module")
def keys(kms):
    return KeyRing(kms)


def _check_algorithm_lists(doc: dict, spec: str, usage: str):
    field = ALGORITHM_FIELDS[usage]
    got = doc.get(field)
    want = KEY_MATRIX[(spec, usage)]
    assert got is not None, f"{spec}/{usage}: {field} missing"
    assert len(got) == len(set(got)) and sorted(got) == sorted(want), f"{spec}/{usage}: {field} = {got}, want {want}"
    others = {f: doc[f] for f in ALGORITHM_FIELDS.values() if f != field and f in doc}
    assert not others, f"{spec}/{usage}: algorithm lists that do not fit the usage: {others}"


def _check_cmk_spec(doc: dict, spec: str):
    if spec in NO_CMK_SPEC:
        # The deprecated CustomerMasterKeySpec enum has no value for this spec.
        assert "CustomerMasterKeySpec" not in doc, doc.get("CustomerMasterKeySpec")
    else:
        assert doc.get("CustomerMasterKeySpec") == spec


# =========================================================================== CreateKey / DescribeKey


@pytest.mark.parametrize("spec,usage", list(KEY_MATRIX), ids=_ids(KEY_MATRIX))
def test_create_key_every_spec_and_usage(kms, keys, spec, usage):
    md = keys.get(spec, usage)
    described = kms.describe_key(KeyId=md["Arn"])["KeyMetadata"]
    for doc in (md, described):
        assert doc["KeySpec"] == spec
        assert doc["KeyUsage"] == usage
        _check_cmk_spec(doc, spec)
        _check_algorithm_lists(doc, spec, usage)
        assert doc["KeyState"] == "Enabled" and doc["Enabled"] is True
        assert doc["Origin"] == "AWS_KMS" and doc["KeyManager"] == "CUSTOMER"
        assert doc["MultiRegion"] is False
        assert doc["Arn"].endswith(":key/" + doc["KeyId"])
    assert described["KeyId"] == md["KeyId"]


@pytest.mark.parametrize("spec,usage", DISALLOWED_PAIRS, ids=_ids(DISALLOWED_PAIRS))
def test_create_key_usage_not_allowed_for_spec(kms, spec, usage):
    expect_error("ValidationException", kms.create_key, KeySpec=spec, KeyUsage=usage, Description="must not exist")


@pytest.mark.parametrize(
    "spec",
    ["RSA_2048", "ECC_NIST_P256", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "ML_DSA_44", "HMAC_256", "ML_KEM_768"],
)
def test_create_key_usage_required_for_non_symmetric_spec(kms, spec):
    expect_error("ValidationException", kms.create_key, KeySpec=spec, Description="must not exist")


def test_create_key_with_deprecated_customer_master_key_spec(kms):
    md = kms.create_key(CustomerMasterKeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert md["KeySpec"] == "ECC_NIST_P256" and md["CustomerMasterKeySpec"] == "ECC_NIST_P256"
    assert md["SigningAlgorithms"] == ["ECDSA_SHA_256"]


def test_create_key_unknown_spec(kms):
    expect_error("ValidationException", kms.create_key, KeySpec="RSA_1024", KeyUsage="SIGN_VERIFY")
    expect_error("ValidationException", kms.create_key, KeySpec="ML_DSA_44", KeyUsage="SIGN_ONLY")


# =========================================================================== GetPublicKey


@pytest.mark.parametrize("spec,usage", ASYMMETRIC, ids=_ids(ASYMMETRIC))
def test_get_public_key(kms, keys, spec, usage):
    md = keys.get(spec, usage)
    r = keys.public(spec, usage)
    assert r["KeyId"] == md["Arn"]
    assert r["KeySpec"] == spec and r["KeyUsage"] == usage
    _check_cmk_spec(r, spec)
    _check_algorithm_lists(r, spec, usage)
    check_spki(spec, r["PublicKey"])
    again = kms.get_public_key(KeyId=md["Arn"])
    assert again["PublicKey"] == r["PublicKey"], "GetPublicKey returned a different key the second time"


def test_get_public_key_through_alias(kms, keys):
    md = keys.get("ECC_NIST_P256", "SIGN_VERIFY")
    alias = unique_alias("pub")
    kms.create_alias(AliasName=alias, TargetKeyId=md["KeyId"])
    try:
        alias_arn = md["Arn"].split(":key/")[0] + ":" + alias
        for ident in (alias, alias_arn):
            r = kms.get_public_key(KeyId=ident)
            assert r["KeyId"] == md["Arn"] and r["PublicKey"] == keys.spki("ECC_NIST_P256", "SIGN_VERIFY")
        s = kms.sign(KeyId=alias, Message=b"via alias", SigningAlgorithm="ECDSA_SHA_256")
        assert s["KeyId"] == md["Arn"]
        verify_locally(r["PublicKey"], "ECDSA_SHA_256", b"via alias", s["Signature"])
        v = kms.verify(KeyId=alias_arn, Message=b"via alias", Signature=s["Signature"], SigningAlgorithm="ECDSA_SHA_256")
        assert v["SignatureValid"] is True and v["KeyId"] == md["Arn"]
    finally:
        kms.delete_alias(AliasName=alias)


def test_get_public_key_of_symmetric_and_hmac_keys(kms, keys, key):
    expect_error("UnsupportedOperationException", kms.get_public_key, KeyId=key["KeyId"])
    expect_error("UnsupportedOperationException", kms.get_public_key, KeyId=keys.get("HMAC_256", "GENERATE_VERIFY_MAC")["KeyId"])


# =========================================================================== Sign / Verify


def _check_signature_shape(spec: str, alg: str, sig: bytes):
    if spec in RSA_SPECS:
        assert len(sig) == RSA_BYTES[spec], (spec, len(sig))
    elif spec in CURVE_ORDERS:
        r, s = parse_ecdsa_signature(sig)  # DER SEQUENCE{r, s}, not raw r||s
        assert 0 < r < CURVE_ORDERS[spec] and 0 < s < CURVE_ORDERS[spec]
    elif spec == "ECC_NIST_EDWARDS25519":
        assert len(sig) == 64
    else:
        assert len(sig) == ML_DSA_SIG_BYTES[spec], (spec, len(sig))


RAW_PAIRS = [p for p in SIGNING_PAIRS if p[1] != "ED25519_PH_SHA_512"]
DETERMINISTIC = {"ED25519_SHA_512", "ED25519_PH_SHA_512"} | {a for _s, a in SIGNING_PAIRS if "PKCS1_V1_5" in a}


@pytest.mark.parametrize("spec,alg", RAW_PAIRS, ids=_ids(RAW_PAIRS))
def test_sign_raw_verified_outside_and_inside(kms, keys, spec, alg):
    md = keys.get(spec, "SIGN_VERIFY")
    spki = keys.spki(spec, "SIGN_VERIFY")
    msg = f"kinko e2e RAW {spec} {alg} ".encode() + os.urandom(16)
    r = kms.sign(KeyId=md["KeyId"], Message=msg, MessageType="RAW", SigningAlgorithm=alg)
    assert r["KeyId"] == md["Arn"] and r["SigningAlgorithm"] == alg
    sig = r["Signature"]
    _check_signature_shape(spec, alg, sig)
    verify_locally(spki, alg, msg, sig)  # Python cryptography

    v = kms.verify(KeyId=md["KeyId"], Message=msg, MessageType="RAW", Signature=sig, SigningAlgorithm=alg)
    assert v == {**v, "SignatureValid": True, "KeyId": md["Arn"], "SigningAlgorithm": alg}
    # MessageType defaults to RAW on both sides.
    sig2 = kms.sign(KeyId=md["Arn"], Message=msg, SigningAlgorithm=alg)["Signature"]
    assert kms.verify(KeyId=md["Arn"], Message=msg, Signature=sig2, SigningAlgorithm=alg)["SignatureValid"] is True
    if alg in DETERMINISTIC:
        assert sig2 == sig, f"{alg} signatures are deterministic"
    expect_error(
        "KMSInvalidSignatureException", kms.verify, KeyId=md["KeyId"], Message=msg + b"!", Signature=sig, SigningAlgorithm=alg
    )


DIGEST_PAIRS = [p for p in SIGNING_PAIRS if p[1] not in ("ED25519_SHA_512", "ML_DSA_SHAKE_256")]


@pytest.mark.parametrize("spec,alg", DIGEST_PAIRS, ids=_ids(DIGEST_PAIRS))
def test_sign_digest_verified_outside_and_inside(kms, keys, spec, alg):
    md = keys.get(spec, "SIGN_VERIFY")
    spki = keys.spki(spec, "SIGN_VERIFY")
    msg = f"kinko e2e DIGEST {spec} {alg} ".encode() + os.urandom(16)
    dg = digest(alg, msg)
    r = kms.sign(KeyId=md["KeyId"], Message=dg, MessageType="DIGEST", SigningAlgorithm=alg)
    assert r["KeyId"] == md["Arn"] and r["SigningAlgorithm"] == alg
    sig = r["Signature"]
    _check_signature_shape(spec, alg, sig)
    # A signature over the digest of msg is a signature over msg (Ed25519ph: RFC 8032 with
    # M = the digest sent, which KMS hashes once more; checked by the pure-Python verifier).
    verify_locally(spki, alg, msg, sig)
    v = kms.verify(KeyId=md["KeyId"], Message=dg, MessageType="DIGEST", Signature=sig, SigningAlgorithm=alg)
    assert v["SignatureValid"] is True and v["KeyId"] == md["Arn"] and v["SigningAlgorithm"] == alg
    expect_error(
        "KMSInvalidSignatureException",
        kms.verify,
        KeyId=md["KeyId"],
        Message=_flip(dg, 0),
        MessageType="DIGEST",
        Signature=sig,
        SigningAlgorithm=alg,
    )
    if alg == "ED25519_PH_SHA_512":
        # AWS's model documentation: with ED25519_PH_SHA_512 and MessageType DIGEST, "KMS still
        # performs the SHA-512 prehash described in Step 1 of Section 7.8.1 in FIPS 186-5. This
        # means the input is hashed twice". So: Ed25519ph with PH = SHA-512(digest sent); not the
        # digest itself as PH, and not plain Ed25519 over the digest.
        raw = parse_spki(spki).key
        assert not ed25519_pure_verify(raw, dg, sig)
        assert not ed25519ph_verify(raw, dg, sig)
        assert ed25519ph_verify(raw, hashlib.sha512(dg).digest(), sig)
        return
    # Verify's MessageType may differ from Sign's as long as the hashing matches.
    v = kms.verify(KeyId=md["KeyId"], Message=msg, MessageType="RAW", Signature=sig, SigningAlgorithm=alg)
    assert v["SignatureValid"] is True
    raw_sig = kms.sign(KeyId=md["KeyId"], Message=msg, MessageType="RAW", SigningAlgorithm=alg)["Signature"]
    v = kms.verify(KeyId=md["KeyId"], Message=dg, MessageType="DIGEST", Signature=raw_sig, SigningAlgorithm=alg)
    assert v["SignatureValid"] is True


@pytest.mark.parametrize("spec", ML_DSA_SPECS)
def test_ml_dsa_external_mu(kms, keys, spec):
    md = keys.get(spec, "SIGN_VERIFY")
    spki = keys.spki(spec, "SIGN_VERIFY")
    pub = serialization.load_der_public_key(spki)
    raw = pub.public_bytes_raw()
    assert raw == parse_spki(spki).key
    msg = b"kinko e2e external mu " + os.urandom(16)
    mu = ml_dsa_mu(raw, msg)
    r = kms.sign(KeyId=md["KeyId"], Message=mu, MessageType="EXTERNAL_MU", SigningAlgorithm="ML_DSA_SHAKE_256")
    sig = r["Signature"]
    assert r["SigningAlgorithm"] == "ML_DSA_SHAKE_256" and len(sig) == ML_DSA_SIG_BYTES[spec]
    pub.verify(sig, msg)  # an ordinary ML-DSA signature of the message
    pub.verify_mu(sig, mu)
    ok = kms.verify(KeyId=md["KeyId"], Message=msg, MessageType="RAW", Signature=sig, SigningAlgorithm="ML_DSA_SHAKE_256")
    assert ok["SignatureValid"] is True
    ok = kms.verify(
        KeyId=md["KeyId"], Message=mu, MessageType="EXTERNAL_MU", Signature=sig, SigningAlgorithm="ML_DSA_SHAKE_256"
    )
    assert ok["SignatureValid"] is True
    raw_sig = kms.sign(KeyId=md["KeyId"], Message=msg, MessageType="RAW", SigningAlgorithm="ML_DSA_SHAKE_256")[
        "Signature"
    ]
    pub.verify_mu(raw_sig, mu)
    ok = kms.verify(
        KeyId=md["KeyId"], Message=mu, MessageType="EXTERNAL_MU", Signature=raw_sig, SigningAlgorithm="ML_DSA_SHAKE_256"
    )
    assert ok["SignatureValid"] is True
    expect_error(
        "KMSInvalidSignatureException",
        kms.verify,
        KeyId=md["KeyId"],
        Message=_flip(mu, 7),
        MessageType="EXTERNAL_MU",
        Signature=sig,
        SigningAlgorithm="ML_DSA_SHAKE_256",
    )


@pytest.mark.parametrize(
    "spec,alg",
    [
        ("ECC_NIST_P256", "ECDSA_SHA_256"),
        ("ML_DSA_44", "ML_DSA_SHAKE_256"),
        ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512"),
        ("RSA_2048", "RSASSA_PSS_SHA_512"),
    ],
)
def test_sign_raw_message_size_limit(kms, keys, spec, alg):
    md = keys.get(spec, "SIGN_VERIFY")
    msg = os.urandom(4096)
    sig = kms.sign(KeyId=md["KeyId"], Message=msg, SigningAlgorithm=alg)["Signature"]
    verify_locally(keys.spki(spec, "SIGN_VERIFY"), alg, msg, sig)
    assert kms.verify(KeyId=md["KeyId"], Message=msg, Signature=sig, SigningAlgorithm=alg)["SignatureValid"] is True
    expect_error("ValidationException", kms.sign, KeyId=md["KeyId"], Message=msg + b"x", SigningAlgorithm=alg)
    expect_error(
        "ValidationException", kms.verify, KeyId=md["KeyId"], Message=msg + b"x", Signature=sig, SigningAlgorithm=alg
    )


BAD_MESSAGES = [
    # (spec, algorithm, MessageType, message length): all ValidationException on Sign and Verify
    ("ECC_NIST_P256", "ECDSA_SHA_256", "DIGEST", 31),
    ("ECC_NIST_P256", "ECDSA_SHA_256", "DIGEST", 33),
    ("ECC_NIST_P256", "ECDSA_SHA_256", "DIGEST", 64),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256", "DIGEST", 48),
    ("ECC_NIST_P384", "ECDSA_SHA_384", "DIGEST", 32),
    ("ECC_NIST_P521", "ECDSA_SHA_512", "DIGEST", 66),
    ("RSA_2048", "RSASSA_PSS_SHA_384", "DIGEST", 32),
    ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_512", "DIGEST", 48),
    ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", "DIGEST", 20),
    ("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "DIGEST", 32),
    ("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "RAW", 64),
    ("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "RAW", 10),
    ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "DIGEST", 64),
    ("ECC_NIST_P256", "ECDSA_SHA_256", "EXTERNAL_MU", 64),
    ("RSA_2048", "RSASSA_PSS_SHA_512", "EXTERNAL_MU", 64),
    ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "EXTERNAL_MU", 64),
    ("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "EXTERNAL_MU", 64),
    ("ML_DSA_44", "ML_DSA_SHAKE_256", "EXTERNAL_MU", 32),
    ("ML_DSA_44", "ML_DSA_SHAKE_256", "EXTERNAL_MU", 65),
    ("ML_DSA_87", "ML_DSA_SHAKE_256", "EXTERNAL_MU", 63),
    ("ECC_NIST_P256", "ECDSA_SHA_256", "RAW", 4097),
    ("ECC_NIST_P256", "ECDSA_SHA_256", "PREHASHED", 32),  # not a MessageType
]


@pytest.mark.parametrize("spec,alg,mtype,n", BAD_MESSAGES, ids=[f"{s}-{a}-{t}-{n}" for s, a, t, n in BAD_MESSAGES])
def test_sign_verify_message_validation(kms, keys, spec, alg, mtype, n):
    md = keys.get(spec, "SIGN_VERIFY")
    msg = os.urandom(n)
    expect_error("ValidationException", kms.sign, KeyId=md["KeyId"], Message=msg, MessageType=mtype, SigningAlgorithm=alg)
    expect_error(
        "ValidationException",
        kms.verify,
        KeyId=md["KeyId"],
        Message=msg,
        MessageType=mtype,
        Signature=b"\x30" * 64,
        SigningAlgorithm=alg,
    )


WRONG_ALGORITHMS = [
    ("RSA_2048", "ECDSA_SHA_256"),
    ("RSA_3072", "ED25519_SHA_512"),
    ("RSA_4096", "ML_DSA_SHAKE_256"),
    ("ECC_NIST_P256", "ECDSA_SHA_384"),
    ("ECC_NIST_P256", "RSASSA_PSS_SHA_256"),
    ("ECC_NIST_P384", "ECDSA_SHA_256"),
    ("ECC_NIST_P521", "ECDSA_SHA_384"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_512"),
    ("ECC_NIST_EDWARDS25519", "ECDSA_SHA_256"),
    ("ML_DSA_44", "ED25519_SHA_512"),
    ("ML_DSA_65", "RSASSA_PKCS1_V1_5_SHA_256"),
    ("ML_DSA_87", "ECDSA_SHA_512"),
]


@pytest.mark.parametrize("spec,alg", WRONG_ALGORITHMS, ids=_ids(WRONG_ALGORITHMS))
def test_signing_algorithm_not_of_key(kms, keys, spec, alg):
    md = keys.get(spec, "SIGN_VERIFY")
    msg = b"algorithm of another key spec"
    expect_error("InvalidKeyUsageException", kms.sign, KeyId=md["KeyId"], Message=msg, SigningAlgorithm=alg)
    expect_error(
        "InvalidKeyUsageException", kms.verify, KeyId=md["KeyId"], Message=msg, Signature=b"\x01" * 64, SigningAlgorithm=alg
    )


NOT_SIGNING = [
    ("RSA_2048", "ENCRYPT_DECRYPT", "RSASSA_PSS_SHA_256"),
    ("ECC_NIST_P256", "KEY_AGREEMENT", "ECDSA_SHA_256"),
    ("HMAC_256", "GENERATE_VERIFY_MAC", "ECDSA_SHA_256"),
    ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE", "ML_DSA_SHAKE_256"),
    ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "RSASSA_PKCS1_V1_5_SHA_256"),
]


@pytest.mark.parametrize("spec,usage,alg", NOT_SIGNING, ids=_ids(NOT_SIGNING))
def test_sign_verify_with_key_of_other_usage(kms, keys, key, spec, usage, alg):
    kid = key["KeyId"] if spec == "SYMMETRIC_DEFAULT" else keys.get(spec, usage)["KeyId"]
    expect_error("InvalidKeyUsageException", kms.sign, KeyId=kid, Message=b"not a signing key", SigningAlgorithm=alg)
    expect_error(
        "InvalidKeyUsageException",
        kms.verify,
        KeyId=kid,
        Message=b"not a signing key",
        Signature=b"\x01" * 64,
        SigningAlgorithm=alg,
    )


BAD_SIGNATURE_CASES = [
    ("RSA_2048", "RSASSA_PSS_SHA_256"),
    ("RSA_3072", "RSASSA_PKCS1_V1_5_SHA_384"),
    ("ECC_NIST_P256", "ECDSA_SHA_256"),
    ("ECC_NIST_P521", "ECDSA_SHA_512"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
    ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512"),
    ("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512"),
    ("ML_DSA_44", "ML_DSA_SHAKE_256"),
]


@pytest.mark.parametrize("spec,alg", BAD_SIGNATURE_CASES, ids=_ids(BAD_SIGNATURE_CASES))
def test_verify_failure_is_an_exception_never_false(kms, keys, spec, alg):
    md = keys.get(spec, "SIGN_VERIFY")
    msg = b"verify me " + os.urandom(8)
    mtype = "DIGEST" if alg == "ED25519_PH_SHA_512" else "RAW"
    body = hashlib.sha512(msg).digest() if mtype == "DIGEST" else msg
    sig = kms.sign(KeyId=md["KeyId"], Message=body, MessageType=mtype, SigningAlgorithm=alg)["Signature"]
    bad = {
        "last bit flipped": _flip(sig),
        "middle byte flipped": _flip(sig, len(sig) // 2, 0x40),
        "truncated": sig[:-1],
        "extended": sig + b"\x00",
        "random of the same length": os.urandom(len(sig)),
    }
    if alg.startswith("ECDSA_"):
        # [infer] raw r||s (IEEE P1363) instead of DER is just an invalid signature
        r, s = parse_ecdsa_signature(sig)
        n = (CURVE_ORDERS[spec].bit_length() + 7) // 8
        bad["raw r||s"] = r.to_bytes(n, "big") + s.to_bytes(n, "big")
    for name, b in bad.items():
        e = expect_error(
            "KMSInvalidSignatureException",
            kms.verify,
            KeyId=md["KeyId"],
            Message=body,
            MessageType=mtype,
            Signature=b,
            SigningAlgorithm=alg,
        )
        assert "SignatureValid" not in e.response, name
    # and the untouched signature still verifies
    assert kms.verify(KeyId=md["KeyId"], Message=body, MessageType=mtype, Signature=sig, SigningAlgorithm=alg)[
        "SignatureValid"
    ] is True


def test_signature_of_another_key_does_not_verify(kms, keys):
    a = keys.get("ECC_NIST_P256", "SIGN_VERIFY")
    b = keys.get("ECC_NIST_P256", "SIGN_VERIFY", slot=1)
    sig = kms.sign(KeyId=b["KeyId"], Message=b"whose key", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    expect_error(
        "KMSInvalidSignatureException",
        kms.verify,
        KeyId=a["KeyId"],
        Message=b"whose key",
        Signature=sig,
        SigningAlgorithm="ECDSA_SHA_256",
    )
    assert keys.spki("ECC_NIST_P256", "SIGN_VERIFY") != keys.spki("ECC_NIST_P256", "SIGN_VERIFY", slot=1)


# =========================================================================== RSA Encrypt / Decrypt

RSA_ENC_PAIRS = [(s, a) for s in RSA_SPECS for a in RSA_ENCRYPTION]


def _oaep(alg: str):
    h = hash_of(alg)
    return padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)


@pytest.mark.parametrize("spec,alg", RSA_ENC_PAIRS, ids=_ids(RSA_ENC_PAIRS))
def test_rsa_encrypt_decrypt(kms, keys, spec, alg, observed_secrets):
    md = keys.get(spec, "ENCRYPT_DECRYPT")
    limit = RSA_MAX_PLAINTEXT[(spec, alg)]
    for pt in (os.urandom(limit), b"\x00", b"\x00\x01 short"):
        _remember(observed_secrets, pt)
        r = kms.encrypt(KeyId=md["KeyId"], Plaintext=pt, EncryptionAlgorithm=alg)
        assert r["KeyId"] == md["Arn"] and r["EncryptionAlgorithm"] == alg
        ct = r["CiphertextBlob"]
        assert len(ct) == RSA_BYTES[spec], (spec, len(ct))
        d = kms.decrypt(CiphertextBlob=ct, KeyId=md["KeyId"], EncryptionAlgorithm=alg)
        assert d["Plaintext"] == pt
        assert d["KeyId"] == md["Arn"] and d["EncryptionAlgorithm"] == alg
        assert "KeyMaterialId" not in d, "KeyMaterialId is for symmetric keys only"
    again = kms.encrypt(KeyId=md["Arn"], Plaintext=pt, EncryptionAlgorithm=alg)["CiphertextBlob"]
    assert again != ct, "OAEP is randomized"
    expect_error("ValidationException", kms.encrypt, KeyId=md["KeyId"], Plaintext=os.urandom(limit + 1), EncryptionAlgorithm=alg)

    # Interop: OAEP made outside with Kinko's public key (same hash for MGF1, empty label).
    pub = serialization.load_der_public_key(keys.spki(spec, "ENCRYPT_DECRYPT"))
    outside_pt = os.urandom(limit)
    _remember(observed_secrets, outside_pt)
    outside = pub.encrypt(outside_pt, _oaep(alg))
    d = kms.decrypt(CiphertextBlob=outside, KeyId=md["Arn"], EncryptionAlgorithm=alg)
    assert d["Plaintext"] == outside_pt
    other = next(a for a in RSA_ENCRYPTION if a != alg)
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=outside, KeyId=md["KeyId"], EncryptionAlgorithm=other)


def test_rsa_encryption_errors(kms, keys, key):
    md = keys.get("RSA_2048", "ENCRYPT_DECRYPT")
    kid = md["KeyId"]
    e = expect_error("InvalidKeyUsageException", kms.encrypt, KeyId=kid, Plaintext=b"no algorithm")
    assert e.response["Error"]["Message"] == "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."
    expect_error("InvalidKeyUsageException", kms.encrypt, KeyId=kid, Plaintext=b"x", EncryptionAlgorithm="SYMMETRIC_DEFAULT")
    ct = kms.encrypt(KeyId=kid, Plaintext=b"rsa errors", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    # Decrypt's EncryptionAlgorithm defaults to SYMMETRIC_DEFAULT, which does not fit the key.
    expect_error("InvalidKeyUsageException", kms.decrypt, CiphertextBlob=ct, KeyId=kid)
    # [?] without KeyId the blob is taken for a symmetric ciphertext; AWS requires KeyId here.
    expect_error(
        {"InvalidCiphertextException", "ValidationException"},
        kms.decrypt,
        CiphertextBlob=ct,
        EncryptionAlgorithm="RSAES_OAEP_SHA_256",
    )
    # Encryption context is only for symmetric keys.
    expect_error(
        "ValidationException",
        kms.encrypt,
        KeyId=kid,
        Plaintext=b"x",
        EncryptionAlgorithm="RSAES_OAEP_SHA_256",
        EncryptionContext={"k": "v"},
    )
    expect_error(
        "ValidationException",
        kms.decrypt,
        CiphertextBlob=ct,
        KeyId=kid,
        EncryptionAlgorithm="RSAES_OAEP_SHA_256",
        EncryptionContext={"k": "v"},
    )
    # Tampered, truncated, or another key's ciphertext.
    for bad in (_flip(ct, 100, 0x10), ct[:-1], ct + b"\x00", bytes(256)):
        expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=bad, KeyId=kid, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    other = keys.get("RSA_2048", "ENCRYPT_DECRYPT", slot=1)
    expect_error(
        "InvalidCiphertextException", kms.decrypt, CiphertextBlob=ct, KeyId=other["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_256"
    )
    # Keys whose usage is not ENCRYPT_DECRYPT.
    for spec, usage in (("RSA_2048", "SIGN_VERIFY"), ("ECC_NIST_P256", "KEY_AGREEMENT"), ("HMAC_256", "GENERATE_VERIFY_MAC"), ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")):
        expect_error(
            "InvalidKeyUsageException",
            kms.encrypt,
            KeyId=keys.get(spec, usage)["KeyId"],
            Plaintext=b"x",
            EncryptionAlgorithm="RSAES_OAEP_SHA_256",
        )
    # Decrypt naming a key that cannot decrypt: AWS answers IncorrectKeyException (issue 21).
    e = expect_error(
        "IncorrectKeyException",
        kms.decrypt,
        CiphertextBlob=ct,
        KeyId=keys.get("RSA_2048", "SIGN_VERIFY")["KeyId"],
        EncryptionAlgorithm="RSAES_OAEP_SHA_256",
    )
    assert e.response["Error"]["Message"] == (
        "The key ID in the request does not identify a CMK that can perform this operation."
    )


# =========================================================================== HMAC


@pytest.mark.parametrize("spec", HMAC_SPECS)
def test_generate_verify_mac(kms, keys, spec):
    md = keys.get(spec, "GENERATE_VERIFY_MAC")
    alg = KEY_MATRIX[(spec, "GENERATE_VERIFY_MAC")][0]
    msg = b"kinko e2e mac " + os.urandom(32)
    r = kms.generate_mac(KeyId=md["KeyId"], Message=msg, MacAlgorithm=alg)
    mac = r["Mac"]
    assert r["KeyId"] == md["Arn"] and r["MacAlgorithm"] == alg
    assert len(mac) == HMAC_BYTES[spec]
    assert kms.generate_mac(KeyId=md["Arn"], Message=msg, MacAlgorithm=alg)["Mac"] == mac, "HMAC is deterministic"
    assert kms.generate_mac(KeyId=md["KeyId"], Message=msg + b".", MacAlgorithm=alg)["Mac"] != mac
    assert mac != hashlib.new("sha" + spec.split("_")[1], msg).digest(), "a keyless hash is not a MAC"

    v = kms.verify_mac(KeyId=md["KeyId"], Message=msg, Mac=mac, MacAlgorithm=alg)
    assert v["MacValid"] is True and v["KeyId"] == md["Arn"] and v["MacAlgorithm"] == alg
    for bad in (_flip(mac), _flip(mac, 0, 0x80), mac[:-1], mac + b"\x00", bytes(len(mac))):
        e = expect_error("KMSInvalidMacException", kms.verify_mac, KeyId=md["KeyId"], Message=msg, Mac=bad, MacAlgorithm=alg)
        assert "MacValid" not in e.response
    expect_error("KMSInvalidMacException", kms.verify_mac, KeyId=md["KeyId"], Message=msg + b".", Mac=mac, MacAlgorithm=alg)

    big = os.urandom(4096)
    big_mac = kms.generate_mac(KeyId=md["KeyId"], Message=big, MacAlgorithm=alg)["Mac"]
    assert kms.verify_mac(KeyId=md["KeyId"], Message=big, Mac=big_mac, MacAlgorithm=alg)["MacValid"] is True
    expect_error("ValidationException", kms.generate_mac, KeyId=md["KeyId"], Message=big + b"x", MacAlgorithm=alg)
    expect_error("ValidationException", kms.verify_mac, KeyId=md["KeyId"], Message=big + b"x", Mac=big_mac, MacAlgorithm=alg)


def test_mac_errors(kms, keys, key):
    a = keys.get("HMAC_256", "GENERATE_VERIFY_MAC")
    b = keys.get("HMAC_256", "GENERATE_VERIFY_MAC", slot=1)
    msg = b"which hmac key"
    mac_a = kms.generate_mac(KeyId=a["KeyId"], Message=msg, MacAlgorithm="HMAC_SHA_256")["Mac"]
    mac_b = kms.generate_mac(KeyId=b["KeyId"], Message=msg, MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert mac_a != mac_b, "two HMAC keys gave the same MAC"
    expect_error("KMSInvalidMacException", kms.verify_mac, KeyId=a["KeyId"], Message=msg, Mac=mac_b, MacAlgorithm="HMAC_SHA_256")

    for alg in ("HMAC_SHA_224", "HMAC_SHA_384", "HMAC_SHA_512"):
        expect_error("InvalidKeyUsageException", kms.generate_mac, KeyId=a["KeyId"], Message=msg, MacAlgorithm=alg)
        expect_error("InvalidKeyUsageException", kms.verify_mac, KeyId=a["KeyId"], Message=msg, Mac=mac_a, MacAlgorithm=alg)
    expect_error("ValidationException", kms.generate_mac, KeyId=a["KeyId"], Message=msg, MacAlgorithm="HMAC_MD5")

    for kid in (
        key["KeyId"],
        keys.get("RSA_2048", "SIGN_VERIFY")["KeyId"],
        keys.get("ECC_NIST_P256", "KEY_AGREEMENT")["KeyId"],
        keys.get("ML_KEM_512", "ENCAPSULATE_DECAPSULATE")["KeyId"],
    ):
        expect_error("InvalidKeyUsageException", kms.generate_mac, KeyId=kid, Message=msg, MacAlgorithm="HMAC_SHA_256")
        expect_error(
            "InvalidKeyUsageException", kms.verify_mac, KeyId=kid, Message=msg, Mac=mac_a, MacAlgorithm="HMAC_SHA_256"
        )
    # HMAC keys do nothing else.
    expect_error("InvalidKeyUsageException", kms.encrypt, KeyId=a["KeyId"], Plaintext=b"x")
    expect_error("InvalidKeyUsageException", kms.generate_data_key, KeyId=a["KeyId"], KeySpec="AES_256")


# =========================================================================== GenerateDataKeyPair*


def _data_key_pair(fn, spec, **kwargs):
    """Returns the response, or None when an ML-KEM spec is refused with UnsupportedOperationException.

    ML-KEM ONLY: the brief allows Kinko to refuse ML_KEM_* data key pairs with
    UnsupportedOperationException if its crypto layer cannot produce seed-form PKCS#8; every
    other spec (and any other error) must succeed."""
    try:
        return fn(KeyPairSpec=spec, **kwargs)
    except ClientError as e:
        err = e.response["Error"]
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        if spec in ML_KEM_SPECS and err["Code"] == "UnsupportedOperationException" and status == 400:
            return None
        raise


@pytest.mark.parametrize("spec", DATA_KEY_PAIR_SPECS)
def test_generate_data_key_pair(kms, key, spec, observed_secrets):
    ctx = {"pair": spec, "suite": "key-specs"}
    r = _data_key_pair(kms.generate_data_key_pair, spec, KeyId=key["KeyId"], EncryptionContext=ctx)
    if r is None:
        return  # ML-KEM refused as UnsupportedOperationException (allowed, see _data_key_pair)
    _remember(observed_secrets, r["PrivateKeyPlaintext"])
    assert r["KeyPairSpec"] == spec
    assert r["KeyId"] == key["Arn"]
    assert len(r["KeyMaterialId"]) == 64 and int(r["KeyMaterialId"], 16) >= 0
    check_data_key_pair(spec, r["PrivateKeyPlaintext"], r["PublicKey"])
    # The wrapped private key is an ordinary symmetric ciphertext under the key, bound to the context.
    d = kms.decrypt(CiphertextBlob=r["PrivateKeyCiphertextBlob"], EncryptionContext=ctx)
    assert d["Plaintext"] == r["PrivateKeyPlaintext"] and d["KeyId"] == key["Arn"]
    if "KeyMaterialId" in d:
        assert d["KeyMaterialId"] == r["KeyMaterialId"]
    expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=r["PrivateKeyCiphertextBlob"])


@pytest.mark.parametrize("spec", DATA_KEY_PAIR_SPECS)
def test_generate_data_key_pair_without_plaintext(kms, key, spec, observed_secrets):
    ctx = {"pair": spec, "plaintext": "no"}
    r = _data_key_pair(kms.generate_data_key_pair_without_plaintext, spec, KeyId=key["Arn"], EncryptionContext=ctx)
    if r is None:
        return  # ML-KEM refused as UnsupportedOperationException (allowed, see _data_key_pair)
    assert "PrivateKeyPlaintext" not in r
    assert r["KeyPairSpec"] == spec and r["KeyId"] == key["Arn"]
    assert len(r["KeyMaterialId"]) == 64
    private = kms.decrypt(CiphertextBlob=r["PrivateKeyCiphertextBlob"], EncryptionContext=ctx)["Plaintext"]
    _remember(observed_secrets, private)
    check_data_key_pair(spec, private, r["PublicKey"])


def test_generate_data_key_pair_errors(kms, keys, key, observed_secrets):
    for spec, usage in (("RSA_2048", "ENCRYPT_DECRYPT"), ("HMAC_256", "GENERATE_VERIFY_MAC"), ("ECC_NIST_P256", "SIGN_VERIFY")):
        kid = keys.get(spec, usage)["KeyId"]
        for fn in (kms.generate_data_key_pair, kms.generate_data_key_pair_without_plaintext):
            expect_error("InvalidKeyUsageException", fn, KeyId=kid, KeyPairSpec="ECC_NIST_P256")
    for fn in (kms.generate_data_key_pair, kms.generate_data_key_pair_without_plaintext):
        expect_error("UnsupportedOperationException", fn, KeyId=key["KeyId"], KeyPairSpec="SM2")
        expect_error("ValidationException", fn, KeyId=key["KeyId"], KeyPairSpec="ML_DSA_44")  # no ML-DSA pairs
        expect_error("ValidationException", fn, KeyId=key["KeyId"], KeyPairSpec="RSA_1024")
    a = kms.generate_data_key_pair(KeyId=key["KeyId"], KeyPairSpec="ECC_NIST_P256")
    b = kms.generate_data_key_pair(KeyId=key["KeyId"], KeyPairSpec="ECC_NIST_P256")
    _remember(observed_secrets, a["PrivateKeyPlaintext"], b["PrivateKeyPlaintext"])
    assert a["PublicKey"] != b["PublicKey"] and a["PrivateKeyPlaintext"] != b["PrivateKeyPlaintext"]
    assert kms.decrypt(CiphertextBlob=a["PrivateKeyCiphertextBlob"])["Plaintext"] == a["PrivateKeyPlaintext"]


# =========================================================================== DeriveSharedSecret


@pytest.mark.parametrize("spec", ECDH_SPECS)
def test_derive_shared_secret(kms, keys, spec, observed_secrets):
    md = keys.get(spec, "KEY_AGREEMENT")
    kinko_pub = serialization.load_der_public_key(keys.spki(spec, "KEY_AGREEMENT"))
    secrets = []
    for _ in range(2):
        local = ec.generate_private_key(CURVES[spec]())
        r = kms.derive_shared_secret(
            KeyId=md["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=spki_of(local.public_key())
        )
        assert r["KeyId"] == md["Arn"]
        assert r["KeyAgreementAlgorithm"] == "ECDH" and r["KeyOrigin"] == "AWS_KMS"
        expected = local.exchange(ec.ECDH(), kinko_pub)
        assert len(r["SharedSecret"]) == ECDH_SECRET_BYTES[spec]
        assert r["SharedSecret"] == expected, "ECDH secret differs from the one computed locally"
        _remember(observed_secrets, r["SharedSecret"])
        again = kms.derive_shared_secret(KeyId=md["Arn"], KeyAgreementAlgorithm="ECDH", PublicKey=spki_of(local.public_key()))
        assert again["SharedSecret"] == expected
        secrets.append(expected)
    assert secrets[0] != secrets[1]


def test_derive_shared_secret_errors(kms, keys, key):
    md = keys.get("ECC_NIST_P256", "KEY_AGREEMENT")
    kid = md["KeyId"]
    good = spki_of(ec.generate_private_key(ec.SECP256R1()).public_key())
    point = bytearray(good)
    point[-1] ^= 0x01  # y no longer matches x: the point is not on the curve
    bad_peers = {
        "P-384 peer": spki_of(ec.generate_private_key(ec.SECP384R1()).public_key()),
        "secp256k1 peer": spki_of(ec.generate_private_key(ec.SECP256K1()).public_key()),
        "Ed25519 peer": spki_of(ed25519.Ed25519PrivateKey.generate().public_key()),
        "garbage": os.urandom(91),
        "raw point without SPKI": parse_spki(good).key,
        "point not on the curve": bytes(point),
    }
    for name, peer in bad_peers.items():
        try:
            expect_error("ValidationException", kms.derive_shared_secret, KeyId=kid, KeyAgreementAlgorithm="ECDH", PublicKey=peer)
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from None
    expect_error("ValidationException", kms.derive_shared_secret, KeyId=kid, KeyAgreementAlgorithm="ECMQV", PublicKey=good)
    for other in (keys.get("ECC_NIST_P256", "SIGN_VERIFY")["KeyId"], keys.get("RSA_2048", "ENCRYPT_DECRYPT")["KeyId"], key["KeyId"]):
        expect_error("InvalidKeyUsageException", kms.derive_shared_secret, KeyId=other, KeyAgreementAlgorithm="ECDH", PublicKey=good)
    # A KEY_AGREEMENT key only derives.
    expect_error("InvalidKeyUsageException", kms.sign, KeyId=kid, Message=b"x", SigningAlgorithm="ECDSA_SHA_256")


# =========================================================================== Encapsulate / Decapsulate


@pytest.mark.parametrize("spec", ML_KEM_SPECS)
def test_encapsulate_decapsulate(kms, keys, spec, observed_secrets):
    md = keys.get(spec, "ENCAPSULATE_DECAPSULATE")
    kid = md["KeyId"]
    r = kms.encapsulate(KeyId=kid, EncapsulationAlgorithm="ML_KEM")
    ss, ct = r["SharedSecret"], r["SharedSecretCiphertextBlob"]
    _remember(observed_secrets, ss)
    assert r["KeyId"] == md["Arn"] and r["EncapsulationAlgorithm"] == "ML_KEM"
    assert len(ss) == 32 and len(ct) == ML_KEM_CT_BYTES[spec], (len(ss), len(ct))
    d = kms.decapsulate(KeyId=kid, SharedSecretCiphertextBlob=ct, EncapsulationAlgorithm="ML_KEM")
    assert d["SharedSecret"] == ss
    assert d["KeyId"] == md["Arn"] and d["EncapsulationAlgorithm"] == "ML_KEM"
    r2 = kms.encapsulate(KeyId=md["Arn"], EncapsulationAlgorithm="ML_KEM")
    assert r2["SharedSecret"] != ss and r2["SharedSecretCiphertextBlob"] != ct

    # Implicit rejection: a modified ciphertext of the right length gives a different, but
    # deterministic, 32-byte secret and no error.
    for bad in (_flip(ct, 0), _flip(ct, -1, 0x80)):
        rej = kms.decapsulate(KeyId=kid, SharedSecretCiphertextBlob=bad, EncapsulationAlgorithm="ML_KEM")["SharedSecret"]
        assert len(rej) == 32 and rej != ss
        assert kms.decapsulate(KeyId=kid, SharedSecretCiphertextBlob=bad, EncapsulationAlgorithm="ML_KEM")["SharedSecret"] == rej
    for bad in (ct[:-1], ct + b"\x00", ct[:32]):
        expect_error("InvalidCiphertextException", kms.decapsulate, KeyId=kid, SharedSecretCiphertextBlob=bad, EncapsulationAlgorithm="ML_KEM")

    # Interop: encapsulate outside against Kinko's public key, decapsulate in Kinko.
    spki = keys.spki(spec, "ENCAPSULATE_DECAPSULATE")
    ek = check_spki(spec, spki).key
    outside_ss, outside_ct = mlkem_encapsulate(spec, ek, os.urandom(32))  # pure-Python FIPS 203
    got = kms.decapsulate(KeyId=kid, SharedSecretCiphertextBlob=outside_ct, EncapsulationAlgorithm="ML_KEM")
    assert got["SharedSecret"] == outside_ss, "FIPS 203 reference encapsulation does not decapsulate in Kinko"
    if spec != "ML_KEM_512":  # cryptography 50 has ML-KEM-768/1024 only
        pub = serialization.load_der_public_key(spki)
        c_ss, c_ct = pub.encapsulate()
        _remember(observed_secrets, c_ss)
        got = kms.decapsulate(KeyId=kid, SharedSecretCiphertextBlob=c_ct, EncapsulationAlgorithm="ML_KEM")
        assert got["SharedSecret"] == c_ss, "cryptography's encapsulation does not decapsulate in Kinko"


def test_kem_errors(kms, keys, key):
    k768 = keys.get("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")
    ct1024 = kms.encapsulate(KeyId=keys.get("ML_KEM_1024", "ENCAPSULATE_DECAPSULATE")["KeyId"], EncapsulationAlgorithm="ML_KEM")[
        "SharedSecretCiphertextBlob"
    ]
    expect_error(
        "InvalidCiphertextException", kms.decapsulate, KeyId=k768["KeyId"], SharedSecretCiphertextBlob=ct1024, EncapsulationAlgorithm="ML_KEM"
    )
    expect_error("ValidationException", kms.encapsulate, KeyId=k768["KeyId"], EncapsulationAlgorithm="KYBER")
    ct768 = kms.encapsulate(KeyId=k768["KeyId"], EncapsulationAlgorithm="ML_KEM")["SharedSecretCiphertextBlob"]
    for kid in (
        key["KeyId"],
        keys.get("ML_DSA_44", "SIGN_VERIFY")["KeyId"],
        keys.get("ECC_NIST_P256", "KEY_AGREEMENT")["KeyId"],
        keys.get("RSA_2048", "ENCRYPT_DECRYPT")["KeyId"],
    ):
        expect_error("InvalidKeyUsageException", kms.encapsulate, KeyId=kid, EncapsulationAlgorithm="ML_KEM")
        expect_error(
            "InvalidKeyUsageException", kms.decapsulate, KeyId=kid, SharedSecretCiphertextBlob=ct768, EncapsulationAlgorithm="ML_KEM"
        )
    # An ML-KEM key does nothing else.
    expect_error("InvalidKeyUsageException", kms.sign, KeyId=k768["KeyId"], Message=b"x", SigningAlgorithm="ML_DSA_SHAKE_256")
    expect_error(
        "InvalidKeyUsageException", kms.derive_shared_secret, KeyId=k768["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=keys.spki("ECC_NIST_P256", "KEY_AGREEMENT")
    )


# =========================================================================== disabled keys


@pytest.fixture(scope="module")
def disabled(kms):
    """Fresh keys of each family, with material made while they were enabled, then disabled."""

    def mk(spec, usage):
        kw = {} if spec == "SYMMETRIC_DEFAULT" else {"KeySpec": spec, "KeyUsage": usage}
        return kms.create_key(Description=f"e2e disabled {spec}", **kw)["KeyMetadata"]["KeyId"]

    m = {
        "sym": mk("SYMMETRIC_DEFAULT", None),
        "rsa": mk("RSA_2048", "ENCRYPT_DECRYPT"),
        "sig": mk("ECC_NIST_P256", "SIGN_VERIFY"),
        "mac": mk("HMAC_256", "GENERATE_VERIFY_MAC"),
        "ka": mk("ECC_NIST_P256", "KEY_AGREEMENT"),
        "kem": mk("ML_KEM_768", "ENCAPSULATE_DECAPSULATE"),
    }
    m["rsa_ct"] = kms.encrypt(KeyId=m["rsa"], Plaintext=b"disabled", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    m["signature"] = kms.sign(KeyId=m["sig"], Message=b"disabled", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    m["hmac"] = kms.generate_mac(KeyId=m["mac"], Message=b"disabled", MacAlgorithm="HMAC_SHA_256")["Mac"]
    m["kem_ct"] = kms.encapsulate(KeyId=m["kem"], EncapsulationAlgorithm="ML_KEM")["SharedSecretCiphertextBlob"]
    m["peer"] = spki_of(ec.generate_private_key(ec.SECP256R1()).public_key())
    for name in ("sym", "rsa", "sig", "mac", "ka", "kem"):
        kms.disable_key(KeyId=m[name])
        assert kms.describe_key(KeyId=m[name])["KeyMetadata"]["KeyState"] == "Disabled"
    return m


DISABLED_OPS = {
    "GetPublicKey": lambda kms, m: kms.get_public_key(KeyId=m["sig"]),
    "Sign": lambda kms, m: kms.sign(KeyId=m["sig"], Message=b"disabled", SigningAlgorithm="ECDSA_SHA_256"),
    "Verify": lambda kms, m: kms.verify(
        KeyId=m["sig"], Message=b"disabled", Signature=m["signature"], SigningAlgorithm="ECDSA_SHA_256"
    ),
    "Encrypt": lambda kms, m: kms.encrypt(KeyId=m["rsa"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
    "Decrypt": lambda kms, m: kms.decrypt(
        CiphertextBlob=m["rsa_ct"], KeyId=m["rsa"], EncryptionAlgorithm="RSAES_OAEP_SHA_256"
    ),
    "GenerateMac": lambda kms, m: kms.generate_mac(KeyId=m["mac"], Message=b"disabled", MacAlgorithm="HMAC_SHA_256"),
    "VerifyMac": lambda kms, m: kms.verify_mac(
        KeyId=m["mac"], Message=b"disabled", Mac=m["hmac"], MacAlgorithm="HMAC_SHA_256"
    ),
    "GenerateDataKeyPair": lambda kms, m: kms.generate_data_key_pair(KeyId=m["sym"], KeyPairSpec="ECC_NIST_P256"),
    "GenerateDataKeyPairWithoutPlaintext": lambda kms, m: kms.generate_data_key_pair_without_plaintext(
        KeyId=m["sym"], KeyPairSpec="ECC_NIST_P256"
    ),
    "DeriveSharedSecret": lambda kms, m: kms.derive_shared_secret(
        KeyId=m["ka"], KeyAgreementAlgorithm="ECDH", PublicKey=m["peer"]
    ),
    "Encapsulate": lambda kms, m: kms.encapsulate(KeyId=m["kem"], EncapsulationAlgorithm="ML_KEM"),
    "Decapsulate": lambda kms, m: kms.decapsulate(
        KeyId=m["kem"], SharedSecretCiphertextBlob=m["kem_ct"], EncapsulationAlgorithm="ML_KEM"
    ),
}


@pytest.mark.parametrize("op", list(DISABLED_OPS))
def test_disabled_key(kms, disabled, op):
    expect_error("DisabledException", DISABLED_OPS[op], kms, disabled)


# =========================================================================== the independent implementations


def test_reference_implementations_self_check():
    """The pure-Python Ed25519ph and ML-KEM code the interop tests rely on is right
    (RFC 8032 §7.3 test vector; FIPS 203 against cryptography's ML-KEM-768/1024)."""
    sk = bytes.fromhex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42")
    pk = bytes.fromhex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf")
    sig = bytes.fromhex(
        "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41"
        "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
    )
    d = hashlib.sha512(b"abc").digest()
    assert ed25519ph_sign(sk, d) == sig
    assert ed25519ph_verify(pk, d, sig) and not ed25519ph_verify(pk, _flip(d), sig)
    e = ed25519.Ed25519PrivateKey.generate()
    s = e.sign(b"pure")
    assert ed25519_pure_verify(e.public_key().public_bytes_raw(), b"pure", s)
    assert not ed25519_pure_verify(e.public_key().public_bytes_raw(), b"purE", s)

    for spec, cls in (("ML_KEM_768", mlkem.MLKEM768PrivateKey), ("ML_KEM_1024", mlkem.MLKEM1024PrivateKey)):
        k = cls.generate()
        ek = k.public_key().public_bytes_raw()
        assert mlkem_public_key_from_seed(spec, k.private_bytes_raw()) == ek
        shared, ct = mlkem_encapsulate(spec, ek, os.urandom(32))
        assert len(ct) == ML_KEM_CT_BYTES[spec] and k.decapsulate(ct) == shared

    k = mldsa.MLDSA44PrivateKey.generate()
    mu = ml_dsa_mu(k.public_key().public_bytes_raw(), b"mu")
    k.public_key().verify(k.sign_mu(mu), b"mu")
    assert digest("ECDSA_SHA_384", b"x") == hashlib.sha384(b"x").digest()
    assert isinstance(hash_of("RSAES_OAEP_SHA_1"), hashes.SHA1)
