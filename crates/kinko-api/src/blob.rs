//! Blob members: standard base64 with `=` padding inside JSON strings, in both directions.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes carried as a base64 string. `Debug` prints only the length, since blobs carry
/// plaintexts and data keys.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        // AWS accepts both padded and unpadded input; emit padded only.
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        engine
            .decode(s.trim().as_bytes())
            .map(Blob)
            .map_err(|_| serde::de::Error::custom("Invalid base64 in a blob member"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_out_lenient_in() {
        let json = serde_json::to_string(&Blob(b"ab".to_vec())).unwrap_or_default();
        assert_eq!(json, "\"YWI=\"");
        let back: Result<Blob, _> = serde_json::from_str("\"YWI\"");
        assert_eq!(back.map(|b| b.0).unwrap_or_default(), b"ab".to_vec());
        assert!(serde_json::from_str::<Blob>("\"!!\"").is_err());
        assert_eq!(format!("{:?}", Blob(b"secret".to_vec())), "Blob(6 bytes)");
    }
}
