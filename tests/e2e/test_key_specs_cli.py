"""Asymmetric, HMAC and ML-KEM key specs through the AWS CLI v1 (awscli 1.46.3).

Each CLI call costs about a second, so these tests are few: one key per family created with
`create-key --key-spec ... --key-usage ...`, and each operation driven once with `fileb://`
inputs (CLI v1 sends the file's bytes raw; output blobs come back base64).  Results are checked
outside Kinko with Python `cryptography` and cross-checked with boto3.

awscli 1.46.3 ships its own botocore (1.43.62), which predates ML-KEM: the CLI has no
encapsulate/decapsulate commands and drops `EncapsulationAlgorithms` from responses.  It still
sends ML_KEM_* key specs as plain strings, so ML-KEM keys are created through the CLI and used
through boto3.
"""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from keyspec_helpers import (
    ALGORITHM_FIELDS,
    KEY_MATRIX,
    ML_KEM_CT_BYTES,
    NO_CMK_SPEC,
    RSA_BYTES,
    check_data_key_pair,
    check_spki,
    digest,
    spki_of,
    verify_locally,
)

CLI_KEYS = [
    ("RSA_2048", "SIGN_VERIFY"),
    ("RSA_3072", "ENCRYPT_DECRYPT"),
    ("ECC_NIST_P256", "SIGN_VERIFY"),
    ("ECC_NIST_P384", "KEY_AGREEMENT"),
    ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"),
    ("ML_DSA_44", "SIGN_VERIFY"),
    ("HMAC_256", "GENERATE_VERIFY_MAC"),
    ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE"),
]


def b64(s: str) -> bytes:
    return base64.b64decode(s, validate=True)


def _file(tmp_path, name: str, data: bytes) -> str:
    p = tmp_path / name
    p.write_bytes(data)
    return f"fileb://{p}"


class CliKeys:
    def __init__(self, aws_cli):
        self.aws_cli = aws_cli
        self._md: dict = {}

    def get(self, spec: str, usage: str) -> dict:
        if (spec, usage) not in self._md:
            _rc, out, _ = self.aws_cli(
                "create-key", "--key-spec", spec, "--key-usage", usage, "--description", f"cli key spec {spec} {usage}"
            )
            self._md[(spec, usage)] = out["KeyMetadata"]
        return self._md[(spec, usage)]


@pytest.fixture(scope="module")
def cli_keys(aws_cli):
    return CliKeys(aws_cli)


@pytest.mark.parametrize("spec,usage", CLI_KEYS, ids=["-".join(p) for p in CLI_KEYS])
def test_cli_create_key(cli_keys, kms, spec, usage):
    md = cli_keys.get(spec, usage)
    assert md["KeySpec"] == spec and md["KeyUsage"] == usage and md["KeyState"] == "Enabled"
    if spec in NO_CMK_SPEC:
        assert "CustomerMasterKeySpec" not in md
    else:
        assert md["CustomerMasterKeySpec"] == spec
    field = ALGORITHM_FIELDS[usage]
    described = kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert described["KeySpec"] == spec and described["KeyUsage"] == usage
    assert sorted(described[field]) == sorted(KEY_MATRIX[(spec, usage)])
    if field != "EncapsulationAlgorithms":  # the CLI's botocore drops that member
        assert sorted(md[field]) == sorted(KEY_MATRIX[(spec, usage)]), md.get(field)
    for other in ALGORITHM_FIELDS.values():
        if other != field:
            assert other not in md


@pytest.mark.parametrize(
    "spec,usage",
    [("RSA_2048", "SIGN_VERIFY"), ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"), ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")],
)
def test_cli_get_public_key(cli_keys, aws_cli, kms, spec, usage):
    md = cli_keys.get(spec, usage)
    _rc, out, _ = aws_cli("get-public-key", "--key-id", md["KeyId"])
    assert out["KeyId"] == md["Arn"] and out["KeySpec"] == spec and out["KeyUsage"] == usage
    der = b64(out["PublicKey"])
    check_spki(spec, der)
    assert der == kms.get_public_key(KeyId=md["Arn"])["PublicKey"]
    if usage == "SIGN_VERIFY":
        assert sorted(out["SigningAlgorithms"]) == sorted(KEY_MATRIX[(spec, usage)])


SIGN_CASES = [
    ("RSA_2048", "RSASSA_PSS_SHA_256", "RAW"),
    ("ECC_NIST_P256", "ECDSA_SHA_256", "DIGEST"),
    ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "RAW"),
    ("ML_DSA_44", "ML_DSA_SHAKE_256", "RAW"),
]


@pytest.mark.parametrize("spec,alg,mtype", SIGN_CASES, ids=[f"{s}-{a}-{t}" for s, a, t in SIGN_CASES])
def test_cli_sign_verify(cli_keys, aws_cli, kms, tmp_path, spec, alg, mtype):
    md = cli_keys.get(spec, "SIGN_VERIFY")
    msg = b"signed through the CLI \x00\xff\n" + os.urandom(16)
    body = digest(alg, msg) if mtype == "DIGEST" else msg
    msg_arg = _file(tmp_path, "msg.bin", body)
    _rc, out, _ = aws_cli(
        "sign", "--key-id", md["KeyId"], "--message", msg_arg, "--message-type", mtype, "--signing-algorithm", alg
    )
    assert out["KeyId"] == md["Arn"] and out["SigningAlgorithm"] == alg
    sig = b64(out["Signature"])
    # The CLI sent the file's raw bytes: the signature is over msg, checked outside Kinko.
    verify_locally(kms.get_public_key(KeyId=md["KeyId"])["PublicKey"], alg, msg, sig)

    sig_arg = _file(tmp_path, "sig.bin", sig)
    _rc, out, _ = aws_cli(
        "verify",
        "--key-id",
        md["Arn"],
        "--message",
        msg_arg,
        "--message-type",
        mtype,
        "--signature",
        sig_arg,
        "--signing-algorithm",
        alg,
    )
    assert out["SignatureValid"] is True and out["KeyId"] == md["Arn"] and out["SigningAlgorithm"] == alg
    # boto3 agrees
    assert kms.verify(KeyId=md["KeyId"], Message=body, MessageType=mtype, Signature=sig, SigningAlgorithm=alg)[
        "SignatureValid"
    ] is True


def test_cli_verify_failure_exit_code(cli_keys, aws_cli, tmp_path):
    md = cli_keys.get("ECC_NIST_P256", "SIGN_VERIFY")
    rc, out, err = aws_cli(
        "verify",
        "--key-id",
        md["KeyId"],
        "--message",
        _file(tmp_path, "m.bin", b"never signed"),
        "--signature",
        _file(tmp_path, "s.bin", os.urandom(70)),
        "--signing-algorithm",
        "ECDSA_SHA_256",
        check=False,
    )
    assert rc == 255 and out is None, (rc, out, err)
    assert "(KMSInvalidSignatureException)" in err and "Verify" in err, err


def test_cli_generate_verify_mac(cli_keys, aws_cli, kms, tmp_path):
    md = cli_keys.get("HMAC_256", "GENERATE_VERIFY_MAC")
    msg = b"mac through the CLI \x00\x01" + os.urandom(8)
    msg_arg = _file(tmp_path, "msg.bin", msg)
    _rc, out, _ = aws_cli("generate-mac", "--key-id", md["KeyId"], "--message", msg_arg, "--mac-algorithm", "HMAC_SHA_256")
    mac = b64(out["Mac"])
    assert len(mac) == 32 and out["MacAlgorithm"] == "HMAC_SHA_256" and out["KeyId"] == md["Arn"]
    assert kms.generate_mac(KeyId=md["KeyId"], Message=msg, MacAlgorithm="HMAC_SHA_256")["Mac"] == mac
    _rc, out, _ = aws_cli(
        "verify-mac",
        "--key-id",
        md["Arn"],
        "--message",
        msg_arg,
        "--mac",
        _file(tmp_path, "mac.bin", mac),
        "--mac-algorithm",
        "HMAC_SHA_256",
    )
    assert out["MacValid"] is True and out["KeyId"] == md["Arn"]
    bad = bytearray(mac)
    bad[0] ^= 1
    rc, out, err = aws_cli(
        "verify-mac",
        "--key-id",
        md["KeyId"],
        "--message",
        msg_arg,
        "--mac",
        _file(tmp_path, "bad.bin", bytes(bad)),
        "--mac-algorithm",
        "HMAC_SHA_256",
        check=False,
    )
    assert rc == 255 and "(KMSInvalidMacException)" in err, (rc, err)


def test_cli_rsa_encrypt_decrypt(cli_keys, aws_cli, kms, tmp_path, observed_secrets):
    md = cli_keys.get("RSA_3072", "ENCRYPT_DECRYPT")
    pt = os.urandom(318)  # the RSA_3072 / OAEP-SHA-256 maximum
    observed_secrets.append(pt)
    _rc, out, _ = aws_cli(
        "encrypt",
        "--key-id",
        md["KeyId"],
        "--plaintext",
        _file(tmp_path, "pt.bin", pt),
        "--encryption-algorithm",
        "RSAES_OAEP_SHA_256",
    )
    assert out["EncryptionAlgorithm"] == "RSAES_OAEP_SHA_256" and out["KeyId"] == md["Arn"]
    ct = b64(out["CiphertextBlob"])
    assert len(ct) == RSA_BYTES["RSA_3072"]
    _rc, out, _ = aws_cli(
        "decrypt",
        "--ciphertext-blob",
        _file(tmp_path, "ct.bin", ct),
        "--key-id",
        md["Arn"],
        "--encryption-algorithm",
        "RSAES_OAEP_SHA_256",
    )
    assert b64(out["Plaintext"]) == pt and out["KeyId"] == md["Arn"]
    assert "KeyMaterialId" not in out

    # OAEP-SHA-1 made outside with the public key, decrypted through the CLI.
    pub = serialization.load_der_public_key(kms.get_public_key(KeyId=md["KeyId"])["PublicKey"])
    pt2 = os.urandom(342)  # the RSA_3072 / OAEP-SHA-1 maximum
    observed_secrets.append(pt2)
    outside = pub.encrypt(pt2, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    _rc, out, _ = aws_cli(
        "decrypt",
        "--ciphertext-blob",
        _file(tmp_path, "ct1.bin", outside),
        "--key-id",
        md["KeyId"],
        "--encryption-algorithm",
        "RSAES_OAEP_SHA_1",
    )
    assert b64(out["Plaintext"]) == pt2


def test_cli_generate_data_key_pair(aws_cli, kms, key, observed_secrets):
    _rc, out, _ = aws_cli(
        "generate-data-key-pair", "--key-id", key["KeyId"], "--key-pair-spec", "ECC_NIST_P256", "--encryption-context", "via=cli"
    )
    private = b64(out["PrivateKeyPlaintext"])
    observed_secrets.append(private)
    assert out["KeyPairSpec"] == "ECC_NIST_P256" and out["KeyId"] == key["Arn"]
    check_data_key_pair("ECC_NIST_P256", private, b64(out["PublicKey"]))
    blob = b64(out["PrivateKeyCiphertextBlob"])
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"via": "cli"})["Plaintext"] == private

    _rc, out, _ = aws_cli(
        "generate-data-key-pair-without-plaintext", "--key-id", key["Arn"], "--key-pair-spec", "ECC_NIST_EDWARDS25519"
    )
    assert "PrivateKeyPlaintext" not in out and out["KeyPairSpec"] == "ECC_NIST_EDWARDS25519"
    private = kms.decrypt(CiphertextBlob=b64(out["PrivateKeyCiphertextBlob"]))["Plaintext"]
    observed_secrets.append(private)
    check_data_key_pair("ECC_NIST_EDWARDS25519", private, b64(out["PublicKey"]))


def test_cli_derive_shared_secret(cli_keys, aws_cli, kms, tmp_path, observed_secrets):
    md = cli_keys.get("ECC_NIST_P384", "KEY_AGREEMENT")
    local = ec.generate_private_key(ec.SECP384R1())
    _rc, out, _ = aws_cli(
        "derive-shared-secret",
        "--key-id",
        md["KeyId"],
        "--key-agreement-algorithm",
        "ECDH",
        "--public-key",
        _file(tmp_path, "peer.der", spki_of(local.public_key())),
    )
    secret = b64(out["SharedSecret"])
    observed_secrets.append(secret)
    kinko_pub = serialization.load_der_public_key(kms.get_public_key(KeyId=md["KeyId"])["PublicKey"])
    assert secret == local.exchange(ec.ECDH(), kinko_pub) and len(secret) == 48
    assert out["KeyAgreementAlgorithm"] == "ECDH" and out["KeyOrigin"] == "AWS_KMS" and out["KeyId"] == md["Arn"]


def test_cli_made_ml_kem_key_works_with_boto3(cli_keys, kms, observed_secrets):
    md = cli_keys.get("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")
    r = kms.encapsulate(KeyId=md["KeyId"], EncapsulationAlgorithm="ML_KEM")
    assert len(r["SharedSecretCiphertextBlob"]) == ML_KEM_CT_BYTES["ML_KEM_768"]
    observed_secrets.append(r["SharedSecret"])
    d = kms.decapsulate(KeyId=md["Arn"], SharedSecretCiphertextBlob=r["SharedSecretCiphertextBlob"], EncapsulationAlgorithm="ML_KEM")
    assert d["SharedSecret"] == r["SharedSecret"]


def test_cli_encapsulate_decapsulate(cli_keys, aws_cli, tmp_path, observed_secrets):
    md = cli_keys.get("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")
    rc, out, err = aws_cli("encapsulate", "--key-id", md["KeyId"], "--encapsulation-algorithm", "ML_KEM", check=False)
    if rc == 2 and "Invalid choice" in err:
        # Documented client limitation: awscli 1.46.3's bundled botocore 1.43.62 has no ML-KEM
        # operations.  Runs for real once the pinned CLI has them.
        pytest.skip("AWS CLI v1 (bundled botocore 1.43.62) has no encapsulate/decapsulate commands")
    assert rc == 0, err
    secret, ct = b64(out["SharedSecret"]), b64(out["SharedSecretCiphertextBlob"])
    observed_secrets.append(secret)
    assert len(secret) == 32 and len(ct) == ML_KEM_CT_BYTES["ML_KEM_768"]
    _rc, out, _ = aws_cli(
        "decapsulate",
        "--key-id",
        md["KeyId"],
        "--shared-secret-ciphertext-blob",
        _file(tmp_path, "kem.bin", ct),
        "--encapsulation-algorithm",
        "ML_KEM",
    )
    assert b64(out["SharedSecret"]) == secret


def test_cli_keyspec_error_types(cli_keys, aws_cli, tmp_path):
    # Wrong algorithm for the key -> InvalidKeyUsageException; disallowed usage -> ValidationException.
    md = cli_keys.get("RSA_2048", "SIGN_VERIFY")
    rc, _out, err = aws_cli(
        "sign",
        "--key-id",
        md["KeyId"],
        "--message",
        _file(tmp_path, "m.bin", hashlib.sha256(b"x").digest()),
        "--message-type",
        "DIGEST",
        "--signing-algorithm",
        "ECDSA_SHA_256",
        check=False,
    )
    assert rc == 255 and "(InvalidKeyUsageException)" in err, (rc, err)
    rc, _out, err = aws_cli("create-key", "--key-spec", "ECC_NIST_P256", "--key-usage", "ENCRYPT_DECRYPT", check=False)
    assert rc == 255 and "(ValidationException)" in err, (rc, err)
