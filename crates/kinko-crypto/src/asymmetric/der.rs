//! The little DER this crate reads and writes by hand: SubjectPublicKeyInfo (RFC 5280) to check that
//! a public key is of the expected type before a primitive sees it, the ML-KEM SPKI that aws-lc-rs
//! does not build, the seed-form PKCS#8 of ML-DSA (RFC 9881) and ML-KEM (RFC 9935), and the outer
//! `OneAsymmetricKey` (RFC 5958) of imported private keys.
//!
//! The reader accepts DER only (minimal lengths, single-byte tags, no trailing bytes) and never
//! panics: every slice access is checked.

/// `rsaEncryption` (1.2.840.113549.1.1.1).
pub(crate) const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// `id-ecPublicKey` (1.2.840.10045.2.1).
pub(crate) const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// `prime256v1` / P-256 (1.2.840.10045.3.1.7).
pub(crate) const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// `secp384r1` (1.3.132.0.34).
pub(crate) const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
/// `secp521r1` (1.3.132.0.35).
pub(crate) const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
/// `secp256k1` (1.3.132.0.10).
pub(crate) const OID_SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];
/// `id-Ed25519` (1.3.101.112).
pub(crate) const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
/// `id-ml-dsa-44/65/87` (2.16.840.1.101.3.4.3.17/18/19).
pub(crate) const OID_ML_DSA_44: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x11];
pub(crate) const OID_ML_DSA_65: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x12];
pub(crate) const OID_ML_DSA_87: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x13];
/// `id-alg-ml-kem-512/768/1024` (2.16.840.1.101.3.4.4.1/2/3).
pub(crate) const OID_ML_KEM_512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x04, 0x01];
pub(crate) const OID_ML_KEM_768: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x04, 0x02];
pub(crate) const OID_ML_KEM_1024: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x04, 0x03];

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_NULL: u8 = 0x05;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
/// `[0] IMPLICIT OCTET STRING`, the seed choice of the ML-DSA and ML-KEM private key formats.
const TAG_CONTEXT_0: u8 = 0x80;

/// A cursor over DER bytes.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next element: its tag and contents. `None` for anything that is not minimal DER.
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.rest.split_first()?;
        // Multi-byte (high) tag numbers never occur in the structures read here.
        if tag & 0x1f == 0x1f {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return None;
            }
            let (len_bytes, after) = rest.split_at_checked(count)?;
            rest = after;
            if len_bytes.first() == Some(&0) {
                return None;
            }
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if len < 0x80 {
                return None;
            }
            len
        };
        let (contents, after) = rest.split_at_checked(len)?;
        self.rest = after;
        Some((tag, contents))
    }

    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next()? {
            (t, contents) if t == tag => Some(contents),
            _ => None,
        }
    }
}

/// True when `der` is exactly one DER SEQUENCE with nothing after it. aws-lc's PKCS#8 parser
/// ignores trailing bytes; stored material must not carry any.
pub(crate) fn is_one_sequence(der: &[u8]) -> bool {
    let mut reader = Reader::new(der);
    reader.expect(TAG_SEQUENCE).is_some() && reader.is_empty()
}

/// The parts of a SubjectPublicKeyInfo that decide what kind of key it is.
pub(crate) struct Spki<'a> {
    /// The algorithm OID's contents.
    pub(crate) algorithm: &'a [u8],
    /// The OID in the parameters, if the parameters are an OID (the named curve of an EC key).
    pub(crate) curve: Option<&'a [u8]>,
    /// True when the parameters are absent; NULL counts as present.
    pub(crate) no_parameters: bool,
    /// The BIT STRING's bytes (after the unused-bits byte, which must be zero).
    pub(crate) key: &'a [u8],
}

/// Parses a DER SubjectPublicKeyInfo. `None` for anything else, including trailing bytes.
pub(crate) fn parse_spki(der: &[u8]) -> Option<Spki<'_>> {
    let mut outer = Reader::new(der);
    let body = outer.expect(TAG_SEQUENCE)?;
    if !outer.is_empty() {
        return None;
    }
    let mut body = Reader::new(body);
    let mut alg = Reader::new(body.expect(TAG_SEQUENCE)?);
    let bits = body.expect(TAG_BIT_STRING)?;
    if !body.is_empty() {
        return None;
    }
    let algorithm = alg.expect(TAG_OID)?;
    let (curve, no_parameters) = match alg.next() {
        None => (None, true),
        Some((TAG_OID, oid)) => (Some(oid), false),
        Some((TAG_NULL, &[])) => (None, false),
        Some(_) => return None,
    };
    if !alg.is_empty() {
        return None;
    }
    let (&unused, key) = bits.split_first()?;
    if unused != 0 {
        return None;
    }
    Some(Spki {
        algorithm,
        curve,
        no_parameters,
        key,
    })
}

/// The modulus length in bits of an RSA public key (PKCS#1 `RSAPublicKey`, the SPKI's key bytes).
pub(crate) fn rsa_modulus_bits(rsa_public_key: &[u8]) -> Option<usize> {
    let mut outer = Reader::new(rsa_public_key);
    let mut seq = Reader::new(outer.expect(TAG_SEQUENCE)?);
    let modulus = seq.expect(TAG_INTEGER)?;
    seq.expect(TAG_INTEGER)?;
    if !seq.is_empty() || !outer.is_empty() {
        return None;
    }
    // A positive INTEGER carries one leading zero byte when its top bit is set.
    let modulus = match modulus {
        [0, rest @ ..] => rest,
        other => other,
    };
    let (&top, _) = modulus.split_first()?;
    if top == 0 {
        return None;
    }
    let top_bits = 8 - usize::try_from(top.leading_zeros()).ok()?;
    Some((modulus.len() - 1) * 8 + top_bits)
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(contents.len() + 6);
    out.push(tag);
    push_len(&mut out, contents.len());
    out.extend_from_slice(contents);
    out
}

/// `AlgorithmIdentifier` with an OID and absent parameters (the PQC algorithms).
fn algorithm_identifier(oid: &[u8]) -> Vec<u8> {
    tlv(TAG_SEQUENCE, &tlv(TAG_OID, oid))
}

/// SubjectPublicKeyInfo for an algorithm with absent parameters (ML-KEM, RFC 9935 §4).
pub(crate) fn spki_without_parameters(oid: &[u8], key: &[u8]) -> Vec<u8> {
    let mut bits = Vec::with_capacity(key.len() + 1);
    bits.push(0);
    bits.extend_from_slice(key);
    let mut body = algorithm_identifier(oid);
    body.extend_from_slice(&tlv(TAG_BIT_STRING, &bits));
    tlv(TAG_SEQUENCE, &body)
}

/// Number of bytes `push_len` writes for `len`.
fn len_of_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + len.to_be_bytes().iter().skip_while(|&&b| b == 0).count()
    }
}

/// PKCS#8 v1 `OneAsymmetricKey` holding the seed choice `[0] IMPLICIT OCTET STRING` (the seed
/// form of RFC 9881 for ML-DSA and RFC 9935 for ML-KEM). Written into one buffer of the exact
/// size, so no partial copy of the seed is left behind in freed memory; the caller wraps the
/// result in `SecretBytes` at once.
pub(crate) fn seed_pkcs8(oid: &[u8], seed: &[u8]) -> Vec<u8> {
    let algorithm = algorithm_identifier(oid);
    let seed_tlv = 1 + len_of_len(seed.len()) + seed.len();
    let octet_tlv = 1 + len_of_len(seed_tlv) + seed_tlv;
    let body = 3 + algorithm.len() + octet_tlv;
    let mut out = Vec::with_capacity(1 + len_of_len(body) + body);
    out.push(TAG_SEQUENCE);
    push_len(&mut out, body);
    out.extend_from_slice(&[TAG_INTEGER, 1, 0]);
    out.extend_from_slice(&algorithm);
    out.push(TAG_OCTET_STRING);
    push_len(&mut out, seed_tlv);
    out.push(TAG_CONTEXT_0);
    push_len(&mut out, seed.len());
    out.extend_from_slice(seed);
    out
}

/// The 32-byte seed of an RFC 8410 Ed25519 PKCS#8 (v1 or v2; what follows the private key is
/// left to aws-lc-rs, which checks a v2 public key against the seed).
pub(crate) fn ed25519_pkcs8_seed(der: &[u8]) -> Option<&[u8]> {
    let mut outer = Reader::new(der);
    let mut body = Reader::new(outer.expect(TAG_SEQUENCE)?);
    if !outer.is_empty() {
        return None;
    }
    let version = body.expect(TAG_INTEGER)?;
    if version != [0] && version != [1] {
        return None;
    }
    let mut alg = Reader::new(body.expect(TAG_SEQUENCE)?);
    if alg.expect(TAG_OID)? != OID_ED25519 || !alg.is_empty() {
        return None;
    }
    let mut private = Reader::new(body.expect(TAG_OCTET_STRING)?);
    let seed = private.expect(TAG_OCTET_STRING)?;
    (private.is_empty() && seed.len() == 32).then_some(seed)
}

/// The seed from a seed-form PKCS#8 (see [`seed_pkcs8`]) whose algorithm is `oid` and whose seed is
/// `seed_len` bytes. Version 0 or 1 is accepted, without attributes or a public key.
pub(crate) fn parse_seed_pkcs8<'a>(der: &'a [u8], oid: &[u8], seed_len: usize) -> Option<&'a [u8]> {
    let mut outer = Reader::new(der);
    let mut body = Reader::new(outer.expect(TAG_SEQUENCE)?);
    if !outer.is_empty() {
        return None;
    }
    let version = body.expect(TAG_INTEGER)?;
    if version != [0] && version != [1] {
        return None;
    }
    let mut alg = Reader::new(body.expect(TAG_SEQUENCE)?);
    if alg.expect(TAG_OID)? != oid || !alg.is_empty() {
        return None;
    }
    let mut private = Reader::new(body.expect(TAG_OCTET_STRING)?);
    if !body.is_empty() {
        return None;
    }
    let seed = private.expect(TAG_CONTEXT_0)?;
    if !private.is_empty() || seed.len() != seed_len {
        return None;
    }
    Some(seed)
}

/// `[0] IMPLICIT Attributes` of a OneAsymmetricKey (constructed).
const TAG_ATTRIBUTES: u8 = 0xa0;
/// `[1] IMPLICIT BIT STRING`, the public key of a OneAsymmetricKey v2 (RFC 5958).
const TAG_PUBLIC_KEY: u8 = 0x81;

/// The parts of a PKCS#8 `OneAsymmetricKey` (RFC 5958) that import looks at.
pub(crate) struct OneAsymmetricKey<'a> {
    /// The algorithm OID's contents.
    pub(crate) algorithm: &'a [u8],
    /// The OID in the parameters, if the parameters are an OID (the named curve of an EC key).
    pub(crate) curve: Option<&'a [u8]>,
    /// True when the parameters are absent; NULL or any other value counts as present.
    pub(crate) no_parameters: bool,
    /// The contents of the `privateKey` OCTET STRING.
    pub(crate) private_key: &'a [u8],
    /// The optional public key (version 1 only), without the unused-bits byte.
    pub(crate) public_key: Option<&'a [u8]>,
}

/// Parses a DER PKCS#8 `OneAsymmetricKey`: version 0 (RFC 5208) or 1 (RFC 5958, which may carry
/// the public key), optional attributes (skipped), nothing after it. `None` for anything else.
pub(crate) fn parse_one_asymmetric_key(der: &[u8]) -> Option<OneAsymmetricKey<'_>> {
    let mut outer = Reader::new(der);
    let mut body = Reader::new(outer.expect(TAG_SEQUENCE)?);
    if !outer.is_empty() {
        return None;
    }
    let version = body.expect(TAG_INTEGER)?;
    let v2 = match version {
        [0] => false,
        [1] => true,
        _ => return None,
    };
    let mut alg = Reader::new(body.expect(TAG_SEQUENCE)?);
    let algorithm = alg.expect(TAG_OID)?;
    let parameters = alg.next();
    if !alg.is_empty() {
        return None;
    }
    let private_key = body.expect(TAG_OCTET_STRING)?;
    let mut next = body.next();
    if let Some((TAG_ATTRIBUTES, _)) = next {
        next = body.next();
    }
    let public_key = match next {
        None => None,
        Some((TAG_PUBLIC_KEY, bits)) if v2 => match bits.split_first()? {
            (&0, key) => Some(key),
            _ => return None,
        },
        Some(_) => return None,
    };
    if !body.is_empty() {
        return None;
    }
    let (curve, no_parameters) = match parameters {
        None => (None, true),
        Some((TAG_OID, oid)) => (Some(oid), false),
        Some(_) => (None, false),
    };
    Some(OneAsymmetricKey {
        algorithm,
        curve,
        no_parameters,
        private_key,
        public_key,
    })
}

/// The private key CHOICE of ML-DSA (RFC 9881) and ML-KEM (RFC 9935).
pub(crate) enum SeedOrExpanded<'a> {
    /// `seed [0] IMPLICIT OCTET STRING`.
    Seed(&'a [u8]),
    /// `expandedKey OCTET STRING`: the seed cannot be recovered from it.
    Expanded,
    /// `both SEQUENCE { seed OCTET STRING, expandedKey OCTET STRING }`.
    Both { seed: &'a [u8], expanded: &'a [u8] },
}

/// Parses the contents of the `privateKey` OCTET STRING of an ML-DSA or ML-KEM PKCS#8. Lengths
/// are checked by the caller.
pub(crate) fn parse_seed_or_expanded(private_key: &[u8]) -> Option<SeedOrExpanded<'_>> {
    let mut reader = Reader::new(private_key);
    let (tag, contents) = reader.next()?;
    if !reader.is_empty() {
        return None;
    }
    match tag {
        TAG_CONTEXT_0 => Some(SeedOrExpanded::Seed(contents)),
        TAG_OCTET_STRING => Some(SeedOrExpanded::Expanded),
        TAG_SEQUENCE => {
            let mut both = Reader::new(contents);
            let seed = both.expect(TAG_OCTET_STRING)?;
            let expanded = both.expect(TAG_OCTET_STRING)?;
            both.is_empty()
                .then_some(SeedOrExpanded::Both { seed, expanded })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_pkcs8_has_the_rfc_layout_and_parses_back() {
        let seed = [7u8; 32];
        let der = seed_pkcs8(OID_ML_DSA_65, &seed);
        assert_eq!(der.len(), 54);
        assert_eq!(&der[..4], &[0x30, 0x34, 0x02, 0x01]);
        assert_eq!(parse_seed_pkcs8(&der, OID_ML_DSA_65, 32), Some(&seed[..]));
        assert_eq!(parse_seed_pkcs8(&der, OID_ML_DSA_44, 32), None);
        assert_eq!(parse_seed_pkcs8(&der, OID_ML_DSA_65, 64), None);
        let kem = seed_pkcs8(OID_ML_KEM_768, &[9u8; 64]);
        assert_eq!(kem.len(), 86);
        let mut trailing = der.clone();
        trailing.push(0);
        assert_eq!(parse_seed_pkcs8(&trailing, OID_ML_DSA_65, 32), None);
    }

    #[test]
    fn spki_round_trip_and_long_lengths() {
        let key = vec![0xab; 1184];
        let der = spki_without_parameters(OID_ML_KEM_768, &key);
        assert_eq!(&der[..4], &[0x30, 0x82, 0x04, 0xb2]);
        let spki = parse_spki(&der).map(|s| (s.algorithm, s.no_parameters, s.key.len()));
        assert_eq!(spki, Some((OID_ML_KEM_768, true, 1184)));
    }

    #[test]
    fn reader_refuses_non_minimal_lengths_and_truncation() {
        // A long-form length for a short value is BER, not DER.
        assert!(parse_spki(&[0x30, 0x81, 0x03, 0x30, 0x01, 0x06]).is_none());
        assert!(parse_spki(&[0x30, 0x05, 0x30]).is_none());
        assert!(parse_spki(&[]).is_none());
        assert!(parse_spki(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
    }

    #[test]
    fn one_asymmetric_key_versions_attributes_and_public_key() {
        let alg = tlv(TAG_SEQUENCE, &tlv(TAG_OID, OID_ED25519));
        let private = tlv(TAG_OCTET_STRING, &tlv(TAG_OCTET_STRING, &[1; 32]));
        let attributes = tlv(TAG_ATTRIBUTES, &[]);
        let public = tlv(TAG_PUBLIC_KEY, &[[0].as_slice(), &[2; 32]].concat());
        let doc = |version: u8, rest: &[&[u8]]| {
            let mut body = tlv(TAG_INTEGER, &[version]);
            body.extend_from_slice(&alg);
            body.extend_from_slice(&private);
            for part in rest {
                body.extend_from_slice(part);
            }
            tlv(TAG_SEQUENCE, &body)
        };
        let v0 = doc(0, &[]);
        let parsed = parse_one_asymmetric_key(&v0).map(|k| (k.algorithm, k.no_parameters));
        assert_eq!(parsed, Some((OID_ED25519, true)));
        let v1 = doc(1, &[&attributes, &public]);
        let parsed = parse_one_asymmetric_key(&v1).and_then(|k| k.public_key);
        assert_eq!(parsed, Some(&[2u8; 32][..]));
        assert!(parse_one_asymmetric_key(&doc(0, &[&attributes])).is_some());
        // A public key needs version 1; nothing else may follow; only versions 0 and 1 exist.
        assert!(parse_one_asymmetric_key(&doc(0, &[&public])).is_none());
        assert!(parse_one_asymmetric_key(&doc(1, &[&public, &attributes])).is_none());
        assert!(parse_one_asymmetric_key(&doc(2, &[])).is_none());
        let odd_bits = tlv(TAG_PUBLIC_KEY, &[[1].as_slice(), &[2; 32]].concat());
        assert!(parse_one_asymmetric_key(&doc(1, &[&odd_bits])).is_none());
        let mut trailing = v0.clone();
        trailing.push(0);
        assert!(parse_one_asymmetric_key(&trailing).is_none());
    }

    #[test]
    fn seed_or_expanded_choices() {
        let seed = tlv(TAG_CONTEXT_0, &[1; 32]);
        assert!(matches!(
            parse_seed_or_expanded(&seed),
            Some(SeedOrExpanded::Seed(s)) if s == [1; 32]
        ));
        let expanded = tlv(TAG_OCTET_STRING, &[2; 64]);
        assert!(matches!(
            parse_seed_or_expanded(&expanded),
            Some(SeedOrExpanded::Expanded)
        ));
        let both = tlv(
            TAG_SEQUENCE,
            &[tlv(TAG_OCTET_STRING, &[1; 32]), expanded.clone()].concat(),
        );
        assert!(matches!(
            parse_seed_or_expanded(&both),
            Some(SeedOrExpanded::Both { seed, expanded }) if seed.len() == 32 && expanded.len() == 64
        ));
        let both_wrong_tag = tlv(TAG_SEQUENCE, &[seed.clone(), expanded.clone()].concat());
        assert!(parse_seed_or_expanded(&both_wrong_tag).is_none());
        assert!(parse_seed_or_expanded(&[seed.clone(), seed].concat()).is_none());
        assert!(parse_seed_or_expanded(&tlv(TAG_NULL, &[])).is_none());
    }

    #[test]
    fn rsa_modulus_bits_counts_bits() {
        // SEQUENCE { INTEGER 0x00ff.. (2048 bits), INTEGER 65537 }
        let mut n = vec![0x00];
        n.extend_from_slice(&[0xff; 256]);
        let mut seq = tlv(TAG_INTEGER, &n);
        seq.extend_from_slice(&tlv(TAG_INTEGER, &[0x01, 0x00, 0x01]));
        assert_eq!(rsa_modulus_bits(&tlv(TAG_SEQUENCE, &seq)), Some(2048));
    }
}
