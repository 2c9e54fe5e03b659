//! Reading hex back: signatures, hashes and keys are stored and exported as lowercase hex
//! (`kinko_core::hex` writes it).

use anyhow::{anyhow, bail};

/// Hex of any even length as bytes.
pub(crate) fn unhex(s: &str) -> anyhow::Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        bail!("odd-length hex");
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| anyhow!("bad hex"))
        })
        .collect()
}

/// 64 hex digits as 32 bytes.
pub(crate) fn unhex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
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
