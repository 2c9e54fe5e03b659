"""Tables and independent checks for the asymmetric / HMAC / ML-KEM key-spec suites.

Everything here is client-side and independent of Kinko: the spec × usage × algorithm matrix
(reference §3), a strict minimal DER reader (SPKI, PKCS#8, ECDSA signatures), signature
verification with Python `cryptography`, and two small pure-Python reference implementations
for what `cryptography` 50 lacks:

- Ed25519ph verification (RFC 8032 §5.1, phflag = 1, empty context), and
- ML-KEM key generation from a seed and encapsulation (FIPS 203), for ML-KEM-512 (cryptography
  only has ML-KEM-768/1024; the same code is checked against cryptography for those two).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem, padding, rsa

# --------------------------------------------------------------------------- the matrix (reference §3)

RSA_SPECS = ("RSA_2048", "RSA_3072", "RSA_4096")
ECDH_SPECS = ("ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521")
ML_DSA_SPECS = ("ML_DSA_44", "ML_DSA_65", "ML_DSA_87")
ML_KEM_SPECS = ("ML_KEM_512", "ML_KEM_768", "ML_KEM_1024")
HMAC_SPECS = ("HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512")

RSA_SIGNING = (
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
)
RSA_ENCRYPTION = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")

ALGORITHM_FIELDS = {
    "ENCRYPT_DECRYPT": "EncryptionAlgorithms",
    "SIGN_VERIFY": "SigningAlgorithms",
    "GENERATE_VERIFY_MAC": "MacAlgorithms",
    "KEY_AGREEMENT": "KeyAgreementAlgorithms",
    "ENCAPSULATE_DECAPSULATE": "EncapsulationAlgorithms",
}

# (KeySpec, KeyUsage) -> the algorithms KeyMetadata must list for it, for every pair AWS allows.
KEY_MATRIX: dict[tuple[str, str], tuple[str, ...]] = {}
for _s in RSA_SPECS:
    KEY_MATRIX[(_s, "ENCRYPT_DECRYPT")] = RSA_ENCRYPTION
    KEY_MATRIX[(_s, "SIGN_VERIFY")] = RSA_SIGNING
for _s, _a in zip(ECDH_SPECS, ("ECDSA_SHA_256", "ECDSA_SHA_384", "ECDSA_SHA_512")):
    KEY_MATRIX[(_s, "SIGN_VERIFY")] = (_a,)
    KEY_MATRIX[(_s, "KEY_AGREEMENT")] = ("ECDH",)
KEY_MATRIX[("ECC_SECG_P256K1", "SIGN_VERIFY")] = ("ECDSA_SHA_256",)
KEY_MATRIX[("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")] = ("ED25519_SHA_512", "ED25519_PH_SHA_512")
for _s in ML_DSA_SPECS:
    KEY_MATRIX[(_s, "SIGN_VERIFY")] = ("ML_DSA_SHAKE_256",)
for _s in HMAC_SPECS:
    KEY_MATRIX[(_s, "GENERATE_VERIFY_MAC")] = ("HMAC_SHA_" + _s.split("_")[1],)
for _s in ML_KEM_SPECS:
    KEY_MATRIX[(_s, "ENCAPSULATE_DECAPSULATE")] = ("ML_KEM",)

# The deprecated CustomerMasterKeySpec enum has no value for these, so it is left out.
NO_CMK_SPEC = {"ECC_NIST_EDWARDS25519", *ML_DSA_SPECS, *ML_KEM_SPECS}

ASYMMETRIC_PAIRS = [p for p in KEY_MATRIX if not p[0].startswith("HMAC_")]

# Every (spec, algorithm) a SIGN_VERIFY key of that spec accepts.
SIGNING_PAIRS = [(s, a) for (s, u), algs in KEY_MATRIX.items() if u == "SIGN_VERIFY" for a in algs]

# Pairs AWS refuses at CreateKey (-> ValidationException).
DISALLOWED_PAIRS = [
    ("RSA_2048", "GENERATE_VERIFY_MAC"),
    ("RSA_2048", "KEY_AGREEMENT"),
    ("RSA_3072", "ENCAPSULATE_DECAPSULATE"),
    ("ECC_NIST_P256", "ENCRYPT_DECRYPT"),
    ("ECC_NIST_P384", "GENERATE_VERIFY_MAC"),
    ("ECC_NIST_P521", "ENCAPSULATE_DECAPSULATE"),
    ("ECC_SECG_P256K1", "KEY_AGREEMENT"),
    ("ECC_SECG_P256K1", "ENCRYPT_DECRYPT"),
    ("ECC_NIST_EDWARDS25519", "KEY_AGREEMENT"),
    ("ECC_NIST_EDWARDS25519", "ENCRYPT_DECRYPT"),
    ("ML_DSA_44", "ENCRYPT_DECRYPT"),
    ("ML_DSA_65", "KEY_AGREEMENT"),
    ("ML_DSA_87", "ENCAPSULATE_DECAPSULATE"),
    ("HMAC_224", "SIGN_VERIFY"),
    ("HMAC_256", "ENCRYPT_DECRYPT"),
    ("HMAC_512", "KEY_AGREEMENT"),
    ("ML_KEM_512", "SIGN_VERIFY"),
    ("ML_KEM_768", "KEY_AGREEMENT"),
    ("ML_KEM_1024", "ENCRYPT_DECRYPT"),
    ("SYMMETRIC_DEFAULT", "SIGN_VERIFY"),
    ("SYMMETRIC_DEFAULT", "GENERATE_VERIFY_MAC"),
]

DATA_KEY_PAIR_SPECS = (*RSA_SPECS, *ECDH_SPECS, "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", *ML_KEM_SPECS)

# --------------------------------------------------------------------------- sizes

RSA_BYTES = {"RSA_2048": 256, "RSA_3072": 384, "RSA_4096": 512}
# Max OAEP plaintext = k - 2*hLen - 2 (reference §3).
RSA_MAX_PLAINTEXT = {
    (s, "RSAES_OAEP_SHA_1"): RSA_BYTES[s] - 2 * 20 - 2 for s in RSA_SPECS
} | {(s, "RSAES_OAEP_SHA_256"): RSA_BYTES[s] - 2 * 32 - 2 for s in RSA_SPECS}
ML_DSA_SIG_BYTES = {"ML_DSA_44": 2420, "ML_DSA_65": 3309, "ML_DSA_87": 4627}
ML_DSA_PUB_BYTES = {"ML_DSA_44": 1312, "ML_DSA_65": 1952, "ML_DSA_87": 2592}
ML_KEM_PUB_BYTES = {"ML_KEM_512": 800, "ML_KEM_768": 1184, "ML_KEM_1024": 1568}
ML_KEM_CT_BYTES = {"ML_KEM_512": 768, "ML_KEM_768": 1088, "ML_KEM_1024": 1568}
HMAC_BYTES = {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}
ECDH_SECRET_BYTES = {"ECC_NIST_P256": 32, "ECC_NIST_P384": 48, "ECC_NIST_P521": 66}
EC_POINT_BYTES = {"ECC_NIST_P256": 65, "ECC_NIST_P384": 97, "ECC_NIST_P521": 133, "ECC_SECG_P256K1": 65}

CURVES = {
    "ECC_NIST_P256": ec.SECP256R1,
    "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1,
    "ECC_SECG_P256K1": ec.SECP256K1,
}
CURVE_ORDERS = {
    "ECC_NIST_P256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "ECC_NIST_P384": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
    ),
    "ECC_NIST_P521": int(
        "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
        "A51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
        16,
    ),
    "ECC_SECG_P256K1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
}

# --------------------------------------------------------------------------- OIDs

OID_RSA = "1.2.840.113549.1.1.1"
OID_EC = "1.2.840.10045.2.1"
OID_ED25519 = "1.3.101.112"
SPEC_OIDS = {
    **{s: (OID_RSA, None) for s in RSA_SPECS},
    "ECC_NIST_P256": (OID_EC, "1.2.840.10045.3.1.7"),
    "ECC_NIST_P384": (OID_EC, "1.3.132.0.34"),
    "ECC_NIST_P521": (OID_EC, "1.3.132.0.35"),
    "ECC_SECG_P256K1": (OID_EC, "1.3.132.0.10"),
    "ECC_NIST_EDWARDS25519": (OID_ED25519, None),
    "ML_DSA_44": ("2.16.840.1.101.3.4.3.17", None),
    "ML_DSA_65": ("2.16.840.1.101.3.4.3.18", None),
    "ML_DSA_87": ("2.16.840.1.101.3.4.3.19", None),
    "ML_KEM_512": ("2.16.840.1.101.3.4.4.1", None),
    "ML_KEM_768": ("2.16.840.1.101.3.4.4.2", None),
    "ML_KEM_1024": ("2.16.840.1.101.3.4.4.3", None),
}

# --------------------------------------------------------------------------- hashing

_HASHES = {"SHA_1": hashes.SHA1, "SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}


def hash_of(algorithm: str) -> hashes.HashAlgorithm:
    """The hash named by an algorithm's suffix (RSASSA_PSS_SHA_384 -> SHA384())."""
    for suffix, cls in _HASHES.items():
        if algorithm.endswith(suffix):
            return cls()
    raise ValueError(algorithm)


def digest(algorithm: str, message: bytes) -> bytes:
    h = hashes.Hash(hash_of(algorithm))
    h.update(message)
    return h.finalize()


# --------------------------------------------------------------------------- strict DER reader


class DerError(ValueError):
    pass


def der_read(buf: bytes, pos: int = 0) -> tuple[int, bytes, int]:
    """One TLV at `pos` -> (tag, value, next position).  Only definite, minimal lengths."""
    if pos + 2 > len(buf):
        raise DerError("truncated TLV")
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tag")
    first = buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > len(buf):
            raise DerError("bad length")
        length = int.from_bytes(buf[pos : pos + n], "big")
        if buf[pos] == 0 or length < 0x80:
            raise DerError("non-minimal length")
        pos += n
    if pos + length > len(buf):
        raise DerError("value runs past the end")
    return tag, buf[pos : pos + length], pos + length


def der_children(value: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(value):
        tag, v, pos = der_read(value, pos)
        out.append((tag, v))
    return out


def der_whole(buf: bytes, tag: int) -> bytes:
    t, v, end = der_read(buf)
    if t != tag:
        raise DerError(f"tag {t:#x}, expected {tag:#x}")
    if end != len(buf):
        raise DerError(f"{len(buf) - end} trailing bytes")
    return v


def der_int(v: bytes) -> int:
    if not v:
        raise DerError("empty INTEGER")
    if len(v) > 1 and ((v[0] == 0 and v[1] < 0x80) or (v[0] == 0xFF and v[1] >= 0x80)):
        raise DerError("non-minimal INTEGER")
    return int.from_bytes(v, "big", signed=True)


def der_oid(v: bytes) -> str:
    parts, acc = [], 0
    for b in v:
        acc = (acc << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(acc)
            acc = 0
    first = parts[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(x) for x in head + parts[1:])


def _algorithm_identifier(v: bytes) -> tuple[str, str | None | bytes]:
    kids = der_children(v)
    if not kids or kids[0][0] != 0x06:
        raise DerError("AlgorithmIdentifier without an OID")
    oid = der_oid(kids[0][1])
    if len(kids) == 1:
        return oid, None
    if len(kids) != 2:
        raise DerError("AlgorithmIdentifier with extra fields")
    tag, p = kids[1]
    if tag == 0x06:
        return oid, der_oid(p)
    if tag == 0x05 and p == b"":
        return oid, b"NULL"
    raise DerError(f"unexpected parameters tag {tag:#x}")


@dataclass
class Spki:
    oid: str
    params: str | bytes | None
    key: bytes  # the BIT STRING contents without the unused-bits byte


def parse_spki(der: bytes) -> Spki:
    kids = der_children(der_whole(der, 0x30))
    if len(kids) != 2 or kids[0][0] != 0x30 or kids[1][0] != 0x03:
        raise DerError("not a SubjectPublicKeyInfo")
    oid, params = _algorithm_identifier(kids[0][1])
    bits = kids[1][1]
    if not bits or bits[0] != 0:
        raise DerError("BIT STRING with unused bits")
    return Spki(oid, params, bits[1:])


@dataclass
class Pkcs8:
    version: int
    oid: str
    params: str | bytes | None
    private_key: bytes  # the privateKey OCTET STRING contents


def parse_pkcs8(der: bytes) -> Pkcs8:
    kids = der_children(der_whole(der, 0x30))
    if len(kids) < 3 or kids[0][0] != 0x02 or kids[1][0] != 0x30 or kids[2][0] != 0x04:
        raise DerError("not a PKCS#8 PrivateKeyInfo")
    oid, params = _algorithm_identifier(kids[1][1])
    return Pkcs8(der_int(kids[0][1]), oid, params, kids[2][1])


def parse_ecdsa_signature(sig: bytes) -> tuple[int, int]:
    """A strict DER ECDSA-Sig-Value SEQUENCE { r INTEGER, s INTEGER } -> (r, s)."""
    kids = der_children(der_whole(sig, 0x30))
    if len(kids) != 2 or kids[0][0] != 0x02 or kids[1][0] != 0x02:
        raise DerError("not SEQUENCE{INTEGER, INTEGER}")
    return der_int(kids[0][1]), der_int(kids[1][1])


def check_spki(spec: str, der: bytes) -> Spki:
    """The SPKI DER matches the key spec: algorithm OID, parameters and key size (independent of
    cryptography), and, where cryptography knows the algorithm, it loads as the right key type."""
    spki = parse_spki(der)
    oid, param = SPEC_OIDS[spec]
    assert spki.oid == oid, (spec, spki.oid)
    if spec in RSA_SPECS:
        assert spki.params == b"NULL", (spec, spki.params)
        mod, _e = (der_int(v) for _t, v in der_children(der_whole(spki.key, 0x30)))
        assert mod.bit_length() == RSA_BYTES[spec] * 8, (spec, mod.bit_length())
    elif oid == OID_EC:
        assert spki.params == param, (spec, spki.params)
        assert len(spki.key) == EC_POINT_BYTES[spec] and spki.key[0] == 0x04, (spec, spki.key[:1].hex(), len(spki.key))
    else:
        assert spki.params is None, (spec, spki.params)
        expected = (
            32 if spec == "ECC_NIST_EDWARDS25519" else ML_DSA_PUB_BYTES.get(spec) or ML_KEM_PUB_BYTES[spec]
        )
        assert len(spki.key) == expected, (spec, len(spki.key))
    if spec != "ML_KEM_512":
        pub = serialization.load_der_public_key(der)
        expected_type = {
            "RSA": rsa.RSAPublicKey,
            "ECC_NIST_P": ec.EllipticCurvePublicKey,
            "ECC_SECG": ec.EllipticCurvePublicKey,
            "ECC_NIST_EDWARDS25519": ed25519.Ed25519PublicKey,
            "ML_DSA_44": mldsa.MLDSA44PublicKey,
            "ML_DSA_65": mldsa.MLDSA65PublicKey,
            "ML_DSA_87": mldsa.MLDSA87PublicKey,
            "ML_KEM_768": mlkem.MLKEM768PublicKey,
            "ML_KEM_1024": mlkem.MLKEM1024PublicKey,
        }
        cls = next(v for k, v in expected_type.items() if spec.startswith(k))
        assert isinstance(pub, cls), (spec, type(pub))
        if spec in CURVES:
            assert isinstance(pub.curve, CURVES[spec]), (spec, pub.curve.name)
    return spki


def spki_of(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# --------------------------------------------------------------------------- signatures


def verify_locally(spki_der: bytes, algorithm: str, message: bytes, signature: bytes) -> None:
    """Verify a Kinko signature over `message` (the RAW message the signature is for) outside
    Kinko.  Raises InvalidSignature (or AssertionError) when it does not verify."""
    if algorithm == "ED25519_PH_SHA_512":
        # AWS KMS (ED25519_PH_SHA_512 with MessageType DIGEST): the caller sends SHA-512(message)
        # and KMS still performs the Ed25519ph prehash (FIPS 186-5 §7.8.1 step 1) on it, so the
        # signature is RFC 8032 Ed25519ph of the 64-byte digest: PH = SHA-512(SHA-512(message)).
        raw = parse_spki(spki_der).key
        prehash = hashlib.sha512(hashlib.sha512(message).digest()).digest()
        if not ed25519ph_verify(raw, prehash, signature):
            raise InvalidSignature("Ed25519ph signature does not verify (pure-Python RFC 8032 check)")
        return
    pub = serialization.load_der_public_key(spki_der)
    if algorithm.startswith("RSASSA_PSS_"):
        h = hash_of(algorithm)
        # AWS: MGF1 with the same hash, salt length = hash length (checked exactly).
        pub.verify(signature, message, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
    elif algorithm.startswith("RSASSA_PKCS1_V1_5_"):
        pub.verify(signature, message, padding.PKCS1v15(), hash_of(algorithm))
    elif algorithm.startswith("ECDSA_"):
        pub.verify(signature, message, ec.ECDSA(hash_of(algorithm)))
    elif algorithm in ("ED25519_SHA_512", "ML_DSA_SHAKE_256"):
        pub.verify(signature, message)
    else:
        raise ValueError(algorithm)


def ml_dsa_mu(public_key_raw: bytes, message: bytes, context: bytes = b"") -> bytes:
    """FIPS 204 external mu: SHAKE256(tr || M', 64) with tr = SHAKE256(pk, 64) and
    M' = 0x00 || len(ctx) || ctx || M (pure ML-DSA)."""
    tr = hashlib.shake_256(public_key_raw).digest(64)
    return hashlib.shake_256(tr + b"\x00" + bytes([len(context)]) + context + message).digest(64)


# --------------------------------------------------------------------------- Ed25519ph (RFC 8032)

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _ed_add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = 2 * t1 * t2 * _D % _P
    dd = 2 * z1 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _ed_mul(s, pt):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _ed_add(q, pt)
        pt = _ed_add(pt, pt)
        s >>= 1
    return q


def _ed_equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _ed_recover_x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


def _ed_decompress(s: bytes):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _ed_recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_G = (_ed_recover_x(_GY, 0), _GY, 1, _ed_recover_x(_GY, 0) * _GY % _P)

_DOM2_PH = b"SigEd25519 no Ed25519 collisions" + bytes([1, 0])  # phflag 1, empty context


def _ed_verify(dom: bytes, public: bytes, msg: bytes, signature: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _ed_decompress(public)
    r = _ed_decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    k = int.from_bytes(hashlib.sha512(dom + signature[:32] + public + msg).digest(), "little") % _L
    return _ed_equal(_ed_mul(s, _G), _ed_add(r, _ed_mul(k, a)))


def ed25519ph_verify(public: bytes, sha512_digest: bytes, signature: bytes) -> bool:
    """RFC 8032 Ed25519ph verification where PH(M) = `sha512_digest` (the 64 bytes the caller
    sent to Kinko with MessageType DIGEST)."""
    return _ed_verify(_DOM2_PH, public, sha512_digest, signature)


def ed25519_pure_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Plain Ed25519 with the same code (used to self-check the implementation above)."""
    return _ed_verify(b"", public, message, signature)


def ed25519ph_sign(seed: bytes, sha512_digest: bytes) -> bytes:
    """RFC 8032 Ed25519ph signing (for the self-check against the RFC test vector only)."""
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    pub = _ed_compress(_ed_mul(a, _G))
    r = int.from_bytes(hashlib.sha512(_DOM2_PH + h[32:] + sha512_digest).digest(), "little") % _L
    rs = _ed_compress(_ed_mul(r, _G))
    k = int.from_bytes(hashlib.sha512(_DOM2_PH + rs + pub + sha512_digest).digest(), "little") % _L
    return rs + ((r + k * a) % _L).to_bytes(32, "little")


def _ed_compress(pt) -> bytes:
    zinv = pow(pt[2], _P - 2, _P)
    x, y = pt[0] * zinv % _P, pt[1] * zinv % _P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


# --------------------------------------------------------------------------- ML-KEM (FIPS 203)

_Q = 3329


@dataclass(frozen=True)
class MlKemParams:
    k: int
    eta1: int
    eta2: int
    du: int
    dv: int


ML_KEM_PARAMS = {
    "ML_KEM_512": MlKemParams(2, 3, 2, 10, 4),
    "ML_KEM_768": MlKemParams(3, 2, 2, 10, 4),
    "ML_KEM_1024": MlKemParams(4, 2, 2, 11, 5),
}


def _bitrev7(i: int) -> int:
    return int(f"{i:07b}"[::-1], 2)


_ZETAS = [pow(17, _bitrev7(i), _Q) for i in range(128)]
_GAMMAS = [pow(17, 2 * _bitrev7(i) + 1, _Q) for i in range(128)]


def _ntt(f):
    f = list(f)
    i, length = 1, 128
    while length >= 2:
        for start in range(0, 256, 2 * length):
            z = _ZETAS[i]
            i += 1
            for j in range(start, start + length):
                t = z * f[j + length] % _Q
                f[j + length] = (f[j] - t) % _Q
                f[j] = (f[j] + t) % _Q
        length //= 2
    return f


def _ntt_inv(f):
    f = list(f)
    i, length = 127, 2
    while length <= 128:
        for start in range(0, 256, 2 * length):
            z = _ZETAS[i]
            i -= 1
            for j in range(start, start + length):
                t = f[j]
                f[j] = (t + f[j + length]) % _Q
                f[j + length] = z * (f[j + length] - t) % _Q
        length *= 2
    return [x * 3303 % _Q for x in f]


def _mul_ntt(a, b):
    c = [0] * 256
    for i in range(128):
        a0, a1, b0, b1 = a[2 * i], a[2 * i + 1], b[2 * i], b[2 * i + 1]
        c[2 * i] = (a0 * b0 + a1 * b1 * _GAMMAS[i]) % _Q
        c[2 * i + 1] = (a0 * b1 + a1 * b0) % _Q
    return c


def _add(a, b):
    return [(x + y) % _Q for x, y in zip(a, b)]


def _sample_ntt(seed34: bytes):
    n = 840
    while True:
        b = hashlib.shake_128(seed34).digest(n)
        out, pos = [], 0
        while len(out) < 256 and pos + 3 <= n:
            d1 = b[pos] + 256 * (b[pos + 1] % 16)
            d2 = b[pos + 1] // 16 + 16 * b[pos + 2]
            if d1 < _Q:
                out.append(d1)
            if d2 < _Q and len(out) < 256:
                out.append(d2)
            pos += 3
        if len(out) == 256:
            return out
        n *= 2


def _cbd(b: bytes, eta: int):
    bits = int.from_bytes(b, "little")
    out = []
    for i in range(256):
        chunk = bits >> (2 * i * eta)
        x = bin(chunk & ((1 << eta) - 1)).count("1")
        y = bin((chunk >> eta) & ((1 << eta) - 1)).count("1")
        out.append((x - y) % _Q)
    return out


def _prf(s: bytes, n: int, eta: int) -> bytes:
    return hashlib.shake_256(s + bytes([n])).digest(64 * eta)


def _encode(f, d: int) -> bytes:
    acc = 0
    for i, a in enumerate(f):
        acc |= a << (i * d)
    return acc.to_bytes(32 * d, "little")


def _decode(b: bytes, d: int):
    acc, m = int.from_bytes(b, "little"), (1 << d) - 1
    return [((acc >> (i * d)) & m) % _Q for i in range(256)]


def _compress(f, d: int):
    return [((x << d) + _Q // 2) // _Q % (1 << d) for x in f]


def _matrix(rho: bytes, k: int):
    return [[_sample_ntt(rho + bytes([j, i])) for j in range(k)] for i in range(k)]


def mlkem_public_key_from_seed(spec: str, seed: bytes) -> bytes:
    """ML-KEM.KeyGen_internal(d, z) with seed = d || z (64 bytes) -> the encapsulation key."""
    p = ML_KEM_PARAMS[spec]
    assert len(seed) == 64
    g = hashlib.sha3_512(seed[:32] + bytes([p.k])).digest()
    rho, sigma = g[:32], g[32:]
    a = _matrix(rho, p.k)
    s = [_ntt(_cbd(_prf(sigma, i, p.eta1), p.eta1)) for i in range(p.k)]
    e = [_ntt(_cbd(_prf(sigma, p.k + i, p.eta1), p.eta1)) for i in range(p.k)]
    t = []
    for i in range(p.k):
        acc = e[i]
        for j in range(p.k):
            acc = _add(acc, _mul_ntt(a[i][j], s[j]))
        t.append(acc)
    return b"".join(_encode(x, 12) for x in t) + rho


def mlkem_encapsulate(spec: str, ek: bytes, m: bytes) -> tuple[bytes, bytes]:
    """ML-KEM.Encaps_internal(ek, m) -> (shared secret K, ciphertext c)."""
    p = ML_KEM_PARAMS[spec]
    assert len(ek) == 384 * p.k + 32 and len(m) == 32
    t = [_decode(ek[384 * i : 384 * (i + 1)], 12) for i in range(p.k)]
    rho = ek[384 * p.k :]
    g = hashlib.sha3_512(m + hashlib.sha3_256(ek).digest()).digest()
    shared, r = g[:32], g[32:]
    a = _matrix(rho, p.k)
    y = [_ntt(_cbd(_prf(r, i, p.eta1), p.eta1)) for i in range(p.k)]
    e1 = [_cbd(_prf(r, p.k + i, p.eta2), p.eta2) for i in range(p.k)]
    e2 = _cbd(_prf(r, 2 * p.k, p.eta2), p.eta2)
    u = []
    for i in range(p.k):
        acc = [0] * 256
        for j in range(p.k):
            acc = _add(acc, _mul_ntt(a[j][i], y[j]))
        u.append(_add(_ntt_inv(acc), e1[i]))
    mu = [((m[i // 8] >> (i % 8)) & 1) * 1665 for i in range(256)]
    acc = [0] * 256
    for i in range(p.k):
        acc = _add(acc, _mul_ntt(t[i], y[i]))
    v = _add(_add(_ntt_inv(acc), e2), mu)
    c = b"".join(_encode(_compress(x, p.du), p.du) for x in u) + _encode(_compress(v, p.dv), p.dv)
    return shared, c


# --------------------------------------------------------------------------- data key pairs


def check_data_key_pair(spec: str, private_der: bytes, public_der: bytes) -> None:
    """PKCS#8 private half and SPKI public half of a GenerateDataKeyPair result belong together
    and match the KeyPairSpec."""
    spki = check_spki(spec, public_der)
    p8 = parse_pkcs8(private_der)
    oid, param = SPEC_OIDS[spec]
    assert p8.oid == oid, (spec, p8.oid)
    assert p8.version in (0, 1), p8.version
    if spec in ML_KEM_PARAMS:
        # Seed form (reference §3): privateKey = [0] IMPLICIT OCTET STRING (SIZE (64)), so the
        # DER is 86 bytes for every ML-KEM spec.
        assert p8.params is None
        tag, seed, end = der_read(p8.private_key)
        assert tag == 0x80 and len(seed) == 64 and end == len(p8.private_key), (tag, len(seed))
        assert len(private_der) == 86, len(private_der)
        assert mlkem_public_key_from_seed(spec, seed) == spki.key, "ML-KEM public key does not match the seed"
        if spec != "ML_KEM_512":
            priv = serialization.load_der_private_key(private_der, password=None)
            assert spki_of(priv.public_key()) == public_der
            shared, ct = priv.public_key().encapsulate()
            assert priv.decapsulate(ct) == shared
        return
    priv = serialization.load_der_private_key(private_der, password=None)
    assert spki_of(priv.public_key()) == public_der, f"{spec}: private and public halves differ"
    pub = serialization.load_der_public_key(public_der)
    msg = b"data key pair halves match " + spec.encode()
    if spec in RSA_SPECS:
        assert priv.key_size == RSA_BYTES[spec] * 8
        sig = priv.sign(msg, padding.PKCS1v15(), hashes.SHA256())
        pub.verify(sig, msg, padding.PKCS1v15(), hashes.SHA256())
        ct = pub.encrypt(msg, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
        assert priv.decrypt(ct, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)) == msg
    elif spec in CURVES:
        assert isinstance(priv.curve, CURVES[spec]), priv.curve.name
        pub.verify(priv.sign(msg, ec.ECDSA(hashes.SHA256())), msg, ec.ECDSA(hashes.SHA256()))
    else:
        assert isinstance(priv, ed25519.Ed25519PrivateKey)
        pub.verify(priv.sign(msg), msg)
