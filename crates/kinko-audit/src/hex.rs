//! Reading hex back: signatures, hashes and keys are stored and exported as lowercase hex
//! (`kinko_core::hex` writes it); the codec is `kinko_crypto::hex`, these only name the errors.

use anyhow::anyhow;

/// Hex of any even length as bytes.
pub(crate) fn unhex(s: &str) -> anyhow::Result<Vec<u8>> {
    kinko_crypto::hex::decode(s).ok_or_else(|| anyhow!("bad hex"))
}

/// 64 hex digits as 32 bytes.
pub(crate) fn unhex32(s: &str) -> Option<[u8; 32]> {
    kinko_crypto::hex::decode_array(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinko_core::hex;

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex32(&hex(&[7u8; 32])), Some([7u8; 32]));
        assert_eq!(unhex32("zz"), None);
        assert_eq!(unhex(&hex(b"\x00\xffk")).ok(), Some(b"\x00\xffk".to_vec()));
        assert!(unhex("abc").is_err());
        assert!(unhex("zz").is_err());
    }
}
