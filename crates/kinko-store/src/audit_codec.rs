//! The byte layout of a batch of audit events as stored in one `audit_batches` row. Public so that
//! tests (and forensic tools) can read and rewrite stored batches; the product only goes through
//! [`kinko_core::Store`].
//!
//! Batches are written in layout 2, which codes each event against the one before it in the
//! batch (events of one batch mostly share their caller, key, operation and most of their
//! record), about a fifth of layout 1's size; layout 1 is still read.
//!
//! ```text
//! layout 1 (at least one event):
//! batch := u32 count, event*
//! event := i64 seq | [32] prev_hash | [32] hash | str event_id | opt request_id | i64 time
//!        | str event_source | str event_name | u8 read_only | opt account | opt principal_arn
//!        | opt access_key_id | opt key_id | opt source_key_id | opt error_code | bytes record
//! str   := u32 len, UTF-8 ; bytes := u32 len, bytes ; opt := u8 0 | u8 1 str   (all big-endian)
//!
//! layout 2 (a layout-1 batch never holds 0 events):
//! batch := u32 0 | u8 2 | u32 count | event*
//! event := u16 flags | varint zigzag(seq - previous seq) | [32] prev_hash, unless LINKED
//!        | [32] hash | each of event_id, request_id, event_source, event_name, account,
//!          principal_arn, access_key_id, key_id, source_key_id, error_code unless its SAME bit is
//!          set (then it equals the previous event's): str for event_id, event_source and
//!          event_name, opt for the others
//!        | varint zigzag(time - previous time) | varint record length | op* (until the record
//!          is complete)
//! flags := bit 0 READ_ONLY | bit 1 LINKED (prev_hash = previous event's hash)
//!        | bit 2 + i: SAME for the i-th field above
//! op    := varint (len << 1) | varint offset   copy len bytes of the previous event's record
//!        | varint (len << 1 | 1) | len bytes    literal bytes
//! varint := unsigned LEB128 (at most 10 bytes) ; "previous" for the first event: seq 0, time 0,
//!           empty record, no fields (its SAME and LINKED bits are never set)
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

/// Encodes events (all of one chain) into a batch in layout 1 (still read; written by tools that
/// rewrite single events).
pub fn encode_v1(events: &[AuditEvent]) -> Vec<u8> {
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

/// Decodes a batch of `chain`, in either layout.
pub fn decode(chain: &str, bytes: &[u8]) -> Result<Vec<AuditEvent>, StoreError> {
    if bytes.get(..5) == Some(&[0, 0, 0, 0, 2][..]) {
        return decode_v2(chain, bytes);
    }
    let mut r = Reader { bytes, at: 0 };
    let count = r.u32()? as usize;
    if count == 0 {
        return Err(corrupt());
    }
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

/// Fields of an event coded against the previous event's (layout 2), in flag-bit order.
const FIELDS: usize = 10;
const READ_ONLY: u16 = 1;
const LINKED: u16 = 2;
const SAME: u16 = 4;
/// Shortest run of equal bytes coded as a copy.
const MIN_COPY: usize = 8;

fn same_field(i: usize, a: &AuditDraft, b: &AuditDraft) -> bool {
    match i {
        0 => a.event_id == b.event_id,
        1 => a.request_id == b.request_id,
        2 => a.event_source == b.event_source,
        3 => a.event_name == b.event_name,
        4 => a.account == b.account,
        5 => a.principal_arn == b.principal_arn,
        6 => a.access_key_id == b.access_key_id,
        7 => a.key_id == b.key_id,
        8 => a.source_key_id == b.source_key_id,
        _ => a.error_code == b.error_code,
    }
}

fn put_field(out: &mut Vec<u8>, i: usize, d: &AuditDraft) {
    match i {
        0 => put_bytes(out, d.event_id.as_bytes()),
        1 => put_opt(out, d.request_id.as_deref()),
        2 => put_bytes(out, d.event_source.as_bytes()),
        3 => put_bytes(out, d.event_name.as_bytes()),
        4 => put_opt(out, d.account.as_ref().map(AccountId::as_str)),
        5 => put_opt(out, d.principal_arn.as_deref()),
        6 => put_opt(out, d.access_key_id.as_deref()),
        7 => put_opt(out, d.key_id.map(|k| k.to_string()).as_deref()),
        8 => put_opt(out, d.source_key_id.map(|k| k.to_string()).as_deref()),
        _ => put_opt(out, d.error_code.as_deref()),
    }
}

/// Fields always present (coded as `str`, not `opt`).
fn required(i: usize) -> bool {
    matches!(i, 0 | 2 | 3)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Codes `cur` against `prev`: the common prefix and suffix are copies, and so is every run of
/// at least [`MIN_COPY`] bytes that is equal at the same offset in between.
fn put_record_delta(out: &mut Vec<u8>, prev: &[u8], cur: &[u8]) {
    let copy = |out: &mut Vec<u8>, offset: usize, len: usize| {
        put_varint(out, (len as u64) << 1);
        put_varint(out, offset as u64);
    };
    let literal = |out: &mut Vec<u8>, bytes: &[u8]| {
        if !bytes.is_empty() {
            put_varint(out, ((bytes.len() as u64) << 1) | 1);
            out.extend_from_slice(bytes);
        }
    };
    put_varint(out, cur.len() as u64);
    let prefix = prev.iter().zip(cur).take_while(|(a, b)| a == b).count();
    let room = prev.len().min(cur.len()) - prefix;
    let suffix = prev
        .iter()
        .rev()
        .zip(cur.iter().rev())
        .take(room)
        .take_while(|(a, b)| a == b)
        .count();
    if prefix > 0 {
        copy(out, 0, prefix);
    }
    let (mid, pmid) = (
        &cur[prefix..cur.len() - suffix],
        &prev[prefix..prev.len() - suffix],
    );
    let mut lit = 0;
    let mut i = 0;
    while i < mid.len() {
        if i < pmid.len() && mid[i] == pmid[i] {
            let run = mid[i..]
                .iter()
                .zip(&pmid[i..])
                .take_while(|(a, b)| a == b)
                .count();
            if run >= MIN_COPY {
                literal(out, &mid[lit..i]);
                copy(out, prefix + i, run);
                lit = i + run;
            }
            i += run;
        } else {
            i += 1;
        }
    }
    literal(out, &mid[lit..]);
    if suffix > 0 {
        copy(out, prev.len() - suffix, suffix);
    }
}

/// Encodes events (all of one chain) into a batch (layout 2).
pub fn encode(events: &[AuditEvent]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + events.len() * 256);
    out.extend_from_slice(&[0, 0, 0, 0, 2]);
    out.extend_from_slice(&(events.len() as u32).to_be_bytes());
    let mut prev: Option<&AuditEvent> = None;
    for e in events {
        let d = &e.draft;
        let mut flags = if d.read_only { READ_ONLY } else { 0 };
        if let Some(p) = prev {
            if p.hash == e.prev_hash {
                flags |= LINKED;
            }
            for i in 0..FIELDS {
                if same_field(i, &p.draft, d) {
                    flags |= SAME << i;
                }
            }
        }
        out.extend_from_slice(&flags.to_be_bytes());
        let (pseq, ptime, precord) = prev.map_or((0, 0, &[][..]), |p| {
            (p.seq, p.draft.time.0, &p.draft.record[..])
        });
        put_varint(&mut out, zigzag(e.seq.wrapping_sub(pseq)));
        if flags & LINKED == 0 {
            out.extend_from_slice(&e.prev_hash);
        }
        out.extend_from_slice(&e.hash);
        for i in 0..FIELDS {
            if flags & (SAME << i) == 0 {
                put_field(&mut out, i, d);
            }
        }
        put_varint(&mut out, zigzag(d.time.0.wrapping_sub(ptime)));
        put_record_delta(&mut out, precord, &d.record);
        prev = Some(e);
    }
    out
}

impl Reader<'_> {
    fn u16(&mut self) -> Result<u16, StoreError> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().map_err(|_| corrupt())?,
        ))
    }
    fn varint(&mut self) -> Result<u64, StoreError> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = *self.take(1)?.first().ok_or_else(corrupt)?;
            v |= u64::from(b & 0x7f).checked_shl(shift).ok_or_else(corrupt)?;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt())
    }
    fn len(&mut self) -> Result<usize, StoreError> {
        usize::try_from(self.varint()?).map_err(|_| corrupt())
    }
}

fn decode_v2(chain: &str, bytes: &[u8]) -> Result<Vec<AuditEvent>, StoreError> {
    let mut r = Reader { bytes, at: 5 };
    let count = r.u32()? as usize;
    let mut out: Vec<AuditEvent> = Vec::with_capacity(count.min(4096));
    let mut prev_fields: [Option<String>; FIELDS] = Default::default();
    for n in 0..count {
        let prev = out.last();
        let flags = r.u16()?;
        if n == 0 && flags & !(READ_ONLY) != 0 {
            return Err(corrupt());
        }
        let seq = prev
            .map_or(0, |p| p.seq)
            .wrapping_add(unzigzag(r.varint()?));
        let prev_hash = match prev {
            Some(p) if flags & LINKED != 0 => p.hash,
            _ => r.hash()?,
        };
        let hash = r.hash()?;
        let mut f: [Option<String>; FIELDS] = Default::default();
        for (i, slot) in f.iter_mut().enumerate() {
            *slot = if flags & (SAME << i) != 0 {
                prev_fields[i].clone()
            } else if required(i) {
                Some(r.str()?)
            } else {
                r.opt()?
            };
        }
        let time = UnixMillis(
            prev.map_or(0, |p| p.draft.time.0)
                .wrapping_add(unzigzag(r.varint()?)),
        );
        let precord: &[u8] = prev.map_or(&[], |p| &p.draft.record);
        let len = r.len()?;
        let mut record = Vec::with_capacity(len.min(1 << 20));
        while record.len() < len {
            let op = r.len()?;
            let n = op >> 1;
            if op & 1 == 1 {
                record.extend_from_slice(r.take(n)?);
            } else {
                let offset = r.len()?;
                let end = offset.checked_add(n).ok_or_else(corrupt)?;
                record.extend_from_slice(precord.get(offset..end).ok_or_else(corrupt)?);
            }
            if record.len() > len {
                return Err(corrupt());
            }
        }
        let [
            event_id,
            request_id,
            event_source,
            event_name,
            account,
            principal_arn,
            access_key_id,
            key_id,
            source_key_id,
            error_code,
        ] = f.clone();
        let parse_key = |k: Option<String>| match k {
            Some(k) => KeyId::parse(&k).map(Some).ok_or_else(corrupt),
            None => Ok(None),
        };
        let draft = AuditDraft {
            event_id: event_id.ok_or_else(corrupt)?,
            request_id,
            time,
            event_source: event_source.ok_or_else(corrupt)?,
            event_name: event_name.ok_or_else(corrupt)?,
            read_only: flags & READ_ONLY != 0,
            account: match account {
                Some(a) => Some(AccountId::parse(&a).ok_or_else(corrupt)?),
                None => None,
            },
            principal_arn,
            access_key_id,
            key_id: parse_key(key_id)?,
            source_key_id: parse_key(source_key_id)?,
            error_code,
            record,
        };
        prev_fields = f;
        out.push(AuditEvent {
            chain: chain.to_owned(),
            seq,
            prev_hash,
            hash,
            draft,
        });
    }
    if r.at != bytes.len() {
        return Err(corrupt());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, name: &str, record: &str, error: Option<&str>) -> AuditEvent {
        AuditEvent {
            chain: "node-1".into(),
            seq,
            prev_hash: [seq as u8; 32],
            hash: [seq as u8 + 1; 32],
            draft: AuditDraft {
                event_id: format!("event-{seq}"),
                request_id: (seq % 3 != 0).then(|| format!("request-{}", seq / 2)),
                time: UnixMillis(1_700_000_000_000 + seq * 7 - (seq % 2) * 20),
                event_source: "kms.amazonaws.com".into(),
                event_name: name.into(),
                read_only: seq % 4 != 0,
                account: AccountId::parse("111122223333"),
                principal_arn: Some("arn:aws:iam::111122223333:root".into()),
                access_key_id: (seq % 5 != 0).then(|| "AKIAEXAMPLE".into()),
                key_id: KeyId::parse("1234abcd-12ab-34cd-56ef-1234567890ab")
                    .filter(|_| seq % 2 == 0),
                source_key_id: None,
                error_code: error.map(str::to_owned),
                record: record.as_bytes().to_vec(),
            },
        }
    }

    #[test]
    fn layout_2_round_trips_and_layout_1_still_reads() {
        let long = "x".repeat(300);
        let events = vec![
            event(
                7,
                "Encrypt",
                r#"{"a":"0123456789abcdef","b":1,"eventID":"11111111"}"#,
                None,
            ),
            event(
                8,
                "Encrypt",
                r#"{"a":"0123456789abcdef","b":1,"eventID":"22222222"}"#,
                None,
            ),
            event(
                9,
                "Decrypt",
                r#"{"a":"0123456789abcdef","b":12,"eventID":"3"}"#,
                Some("AccessDeniedException"),
            ),
            event(10, "Decrypt", "", None),
            event(11, "ListKeys", &long, None),
            event(12, "ListKeys", &format!("{long}y{long}"), None),
            event(30, "ListKeys", &format!("z{long}"), None),
        ];
        let v2 = encode(&events);
        assert_eq!(decode("node-1", &v2).expect("layout 2 decodes"), events);
        assert_eq!(
            decode("node-1", &encode_v1(&events)).expect("layout 1 decodes"),
            events
        );
        assert!(v2.len() < encode_v1(&events).len());
        assert_eq!(decode("node-1", &encode(&[])).expect("empty"), Vec::new());
    }

    #[test]
    fn layout_2_damage_is_refused() {
        let events = vec![
            event(
                1,
                "Encrypt",
                r#"{"eventID":"11111111","rest":"the same text"}"#,
                None,
            ),
            event(
                2,
                "Encrypt",
                r#"{"eventID":"22222222","rest":"the same text"}"#,
                None,
            ),
        ];
        let v2 = encode(&events);
        for cut in 0..v2.len() {
            assert!(decode("node-1", &v2[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = v2.clone();
        longer.push(0);
        assert!(decode("node-1", &longer).is_err());
    }
}
