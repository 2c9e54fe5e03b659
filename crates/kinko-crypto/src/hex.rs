//! Hexadecimal, written once for the workspace: lowercase out, either case in. (`kinko-sigv4`
//! keeps its own two lines: it depends on no other Kinko crate by design.)

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `bytes` as lowercase hex, two digits per byte.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The bytes of `s`, two hex digits (either case) per byte; `None` if its length is odd or it
/// holds anything but hex digits.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// [`decode`] into exactly `N` bytes (`2 * N` digits).
pub fn decode_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    decode(s)?.try_into().ok()
}

fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{decode, decode_array, encode};

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(encode(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(encode(&[]), "");
    }

    #[test]
    fn decoding_takes_either_case_and_rejects_the_rest() {
        assert_eq!(decode("000fa5ff"), Some(vec![0x00, 0x0f, 0xa5, 0xff]));
        assert_eq!(decode("A5fF"), Some(vec![0xa5, 0xff]));
        assert_eq!(decode(""), Some(vec![]));
        for bad in ["0", "0g", "+f", "-1", " 1", "é1"] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&all)), Some(all));
    }

    #[test]
    fn arrays_have_exactly_their_length() {
        assert_eq!(decode_array::<2>("a5ff"), Some([0xa5, 0xff]));
        assert_eq!(decode_array::<2>("a5"), None);
        assert_eq!(decode_array::<2>("a5ff00"), None);
    }
}
