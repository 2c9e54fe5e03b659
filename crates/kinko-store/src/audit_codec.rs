//! The byte layout of a batch of audit events as stored in one `audit_batches` row. Public so that
//! tests (and forensic tools) can read and rewrite stored batches; the product only goes through
//! [`kinko_core::Store`].
//!
//! ```text
//! batch := u32 count, event*
//! event := i64 seq | [32] prev_hash | [32] hash | str event_id | opt request_id | i64 time
//!        | str event_source | str event_name | u8 read_only | opt account | opt principal_arn
//!        | opt access_key_id | opt key_id | opt source_key_id | opt error_code | bytes record
//! str   := u32 len, UTF-8 ; bytes := u32 len, bytes ; opt := u8 0 | u8 1 str   (all big-endian)
//! ```

use kinko_core::{AccountId, AuditDraft, AuditEvent, KeyId, StoreError, UnixMillis};

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.push(1);
            put_bytes(out, s.as_bytes());
        }
        None => out.push(0),
    }
}

/// Encodes events (all of one chain) into a batch.
pub fn encode(events: &[AuditEvent]) -> Vec<u8> {
    let size: usize = events.iter().map(|e| 200 + e.draft.record.len()).sum();
    let mut out = Vec::with_capacity(4 + size);
    out.extend_from_slice(&(events.len() as u32).to_be_bytes());
    for e in events {
        let d = &e.draft;
        out.extend_from_slice(&e.seq.to_be_bytes());
        out.extend_from_slice(&e.prev_hash);
        out.extend_from_slice(&e.hash);
        put_bytes(&mut out, d.event_id.as_bytes());
        put_opt(&mut out, d.request_id.as_deref());
        out.extend_from_slice(&d.time.0.to_be_bytes());
        put_bytes(&mut out, d.event_source.as_bytes());
        put_bytes(&mut out, d.event_name.as_bytes());
        out.push(u8::from(d.read_only));
        put_opt(&mut out, d.account.as_ref().map(AccountId::as_str));
        put_opt(&mut out, d.principal_arn.as_deref());
        put_opt(&mut out, d.access_key_id.as_deref());
        put_opt(&mut out, d.key_id.map(|k| k.to_string()).as_deref());
        put_opt(&mut out, d.source_key_id.map(|k| k.to_string()).as_deref());
        put_opt(&mut out, d.error_code.as_deref());
        put_bytes(&mut out, &d.record);
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

fn corrupt() -> StoreError {
    StoreError::Corrupt("audit batch encoding".to_owned())
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let end = self.at.checked_add(n).ok_or_else(corrupt)?;
        let slice = self.bytes.get(self.at..end).ok_or_else(corrupt)?;
        self.at = end;
        Ok(slice)
    }
    fn u32(&mut self) -> Result<u32, StoreError> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().map_err(|_| corrupt())?,
        ))
    }
    fn i64(&mut self) -> Result<i64, StoreError> {
        Ok(i64::from_be_bytes(
            self.take(8)?.try_into().map_err(|_| corrupt())?,
        ))
    }
    fn hash(&mut self) -> Result<[u8; 32], StoreError> {
        self.take(32)?.try_into().map_err(|_| corrupt())
    }
    fn bytes(&mut self) -> Result<Vec<u8>, StoreError> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    fn str(&mut self) -> Result<String, StoreError> {
        String::from_utf8(self.bytes()?).map_err(|_| corrupt())
    }
    fn opt(&mut self) -> Result<Option<String>, StoreError> {
        match self.take(1)?.first() {
            Some(0) => Ok(None),
            Some(1) => self.str().map(Some),
            _ => Err(corrupt()),
        }
    }
}

/// Decodes a batch of `chain`.
pub fn decode(chain: &str, bytes: &[u8]) -> Result<Vec<AuditEvent>, StoreError> {
    let mut r = Reader { bytes, at: 0 };
    let count = r.u32()? as usize;
    let mut out = Vec::with_capacity(count.min(4096));
    for _ in 0..count {
        let seq = r.i64()?;
        let prev_hash = r.hash()?;
        let hash = r.hash()?;
        let event_id = r.str()?;
        let request_id = r.opt()?;
        let time = UnixMillis(r.i64()?);
        let event_source = r.str()?;
        let event_name = r.str()?;
        let read_only = match r.take(1)?.first() {
            Some(0) => false,
            Some(1) => true,
            _ => return Err(corrupt()),
        };
        let account = match r.opt()? {
            Some(a) => Some(AccountId::parse(&a).ok_or_else(corrupt)?),
            None => None,
        };
        let principal_arn = r.opt()?;
        let access_key_id = r.opt()?;
        let key_id = match r.opt()? {
            Some(k) => Some(KeyId::parse(&k).ok_or_else(corrupt)?),
            None => None,
        };
        let source_key_id = match r.opt()? {
            Some(k) => Some(KeyId::parse(&k).ok_or_else(corrupt)?),
            None => None,
        };
        let error_code = r.opt()?;
        let record = r.bytes()?;
        out.push(AuditEvent {
            chain: chain.to_owned(),
            seq,
            prev_hash,
            hash,
            draft: AuditDraft {
                event_id,
                request_id,
                time,
                event_source,
                event_name,
                read_only,
                account,
                principal_arn,
                access_key_id,
                key_id,
                source_key_id,
                error_code,
                record,
            },
        });
    }
    if r.at != bytes.len() {
        return Err(corrupt());
    }
    Ok(out)
}
