//! The audit trail as SQLite stores it, for tests that read or tamper with it directly: events
//! live in group-commit batches, `audit_batches(chain, first_seq, last_seq, min_time, max_time,
//! events)`, where `events` is a batch encoded as kinko-store's `audit_codec` lays it out:
//!
//! ```text
//! batch := u32 count, event*
//! event := i64 seq | [32] prev_hash | [32] hash | str event_id | opt request_id | i64 time
//!        | str event_source | str event_name | u8 read_only | opt account | opt principal_arn
//!        | opt access_key_id | opt key_id | opt source_key_id | opt error_code | bytes record
//! str   := u32 len, UTF-8 ; bytes := u32 len, bytes ; opt := u8 0 | u8 1 str   (all big-endian)
//! ```
//!
//! That is layout 1; the product writes layout 2, which codes each event against the previous
//! one in its batch (see kinko-store's `audit_codec` for the grammar):
//!
//! ```text
//! batch := u32 0 | u8 2 | u32 count | event*
//! event := u16 flags | varint zigzag(seq delta) | [32] prev_hash unless LINKED | [32] hash
//!        | the ten string fields (event_id ... error_code) unless SAME | varint zigzag(time delta)
//!        | varint record length | op* (varint len<<1, varint offset: copy from the previous
//!          record ; varint len<<1|1, bytes: literal)
//! ```
//!
//! The codec is written out here independently of the product (this crate does not depend on
//! kinko-store), and `explode` checks it against the stored bytes: every layout-1 batch it reads
//! must re-encode to exactly what was stored, and every layout-2 batch must decode to its last
//! byte. Batches this module writes are layout 1, which the product still reads.
//!
//! Tampering is easiest one row per event, as an attacker with SQLite would do it: [`explode`]
//! rewrites the trail as one batch per event and also copies it into a scratch table
//! `audit_events` with one column per field (primary key (chain, seq)); SQL edits there are then
//! written back by [`implode`], which stores every `audit_events` row, as it stands, as a batch
//! of its own and drops the scratch table.

use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};

/// One stored event, field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub chain: String,
    pub seq: i64,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    pub event_id: String,
    pub request_id: Option<String>,
    pub time: i64,
    pub event_source: String,
    pub event_name: String,
    pub read_only: bool,
    pub account: Option<String>,
    pub principal_arn: Option<String>,
    pub access_key_id: Option<String>,
    pub key_id: Option<String>,
    pub source_key_id: Option<String>,
    pub error_code: Option<String>,
    pub record: Vec<u8>,
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&u32::try_from(b.len()).expect("short").to_be_bytes());
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

fn put_hash(out: &mut Vec<u8>, h: &[u8]) {
    assert_eq!(h.len(), 32, "a chain hash is 32 bytes");
    out.extend_from_slice(h);
}

/// Encodes events into one batch (layout 1).
pub fn encode(events: &[StoredEvent]) -> Vec<u8> {
    let mut out = u32::try_from(events.len())
        .expect("a small batch")
        .to_be_bytes()
        .to_vec();
    for e in events {
        out.extend_from_slice(&e.seq.to_be_bytes());
        put_hash(&mut out, &e.prev_hash);
        put_hash(&mut out, &e.hash);
        put_bytes(&mut out, e.event_id.as_bytes());
        put_opt(&mut out, e.request_id.as_deref());
        out.extend_from_slice(&e.time.to_be_bytes());
        put_bytes(&mut out, e.event_source.as_bytes());
        put_bytes(&mut out, e.event_name.as_bytes());
        out.push(u8::from(e.read_only));
        put_opt(&mut out, e.account.as_deref());
        put_opt(&mut out, e.principal_arn.as_deref());
        put_opt(&mut out, e.access_key_id.as_deref());
        put_opt(&mut out, e.key_id.as_deref());
        put_opt(&mut out, e.source_key_id.as_deref());
        put_opt(&mut out, e.error_code.as_deref());
        put_bytes(&mut out, &e.record);
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let slice = self
            .bytes
            .get(self.at..self.at + n)
            .unwrap_or_else(|| panic!("a batch cut short at byte {}", self.at));
        self.at += n;
        slice
    }
    fn u32(&mut self) -> usize {
        u32::from_be_bytes(self.take(4).try_into().expect("4 bytes")) as usize
    }
    fn i64(&mut self) -> i64 {
        i64::from_be_bytes(self.take(8).try_into().expect("8 bytes"))
    }
    fn bytes(&mut self) -> Vec<u8> {
        let n = self.u32();
        self.take(n).to_vec()
    }
    fn str(&mut self) -> String {
        String::from_utf8(self.bytes()).expect("UTF-8 in a batch")
    }
    fn opt(&mut self) -> Option<String> {
        match self.take(1)[0] {
            0 => None,
            1 => Some(self.str()),
            b => panic!("option tag {b} in a batch"),
        }
    }
}

fn is_layout_2(bytes: &[u8]) -> bool {
    bytes.get(..5) == Some(&[0, 0, 0, 0, 2][..])
}

impl Reader<'_> {
    fn varint(&mut self) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)[0];
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return v;
            }
        }
        panic!("a varint longer than 64 bits in a batch");
    }
    fn zigzag(&mut self) -> i64 {
        let v = self.varint();
        ((v >> 1) as i64) ^ -((v & 1) as i64)
    }
}

/// Decodes a layout-2 batch of `chain`.
fn decode_layout_2(chain: &str, bytes: &[u8]) -> Vec<StoredEvent> {
    let mut r = Reader { bytes, at: 5 };
    let count = r.u32();
    let mut out: Vec<StoredEvent> = Vec::with_capacity(count);
    for n in 0..count {
        let flags = u16::from_be_bytes(r.take(2).try_into().expect("2 bytes"));
        let prev = out.last();
        assert!(
            n > 0 || flags <= 1,
            "the first event of a batch refers to a previous one"
        );
        let same = |i: u32| flags & (4 << i) != 0;
        let seq = prev.map_or(0, |p| p.seq) + r.zigzag();
        let prev_hash = if flags & 2 != 0 {
            prev.expect("a previous event").hash.clone()
        } else {
            r.take(32).to_vec()
        };
        let hash = r.take(32).to_vec();
        let p = prev.cloned();
        let text = |i: u32, r: &mut Reader<'_>, old: Option<String>| -> String {
            if same(i) {
                old.expect("a previous event")
            } else {
                r.str()
            }
        };
        let event_id = text(0, &mut r, p.as_ref().map(|p| p.event_id.clone()));
        let opt = |i: u32, r: &mut Reader<'_>, old: Option<Option<String>>| -> Option<String> {
            if same(i) {
                old.expect("a previous event")
            } else {
                r.opt()
            }
        };
        let request_id = opt(1, &mut r, p.as_ref().map(|p| p.request_id.clone()));
        let event_source = if same(2) {
            p.as_ref().expect("a previous event").event_source.clone()
        } else {
            r.str()
        };
        let event_name = if same(3) {
            p.as_ref().expect("a previous event").event_name.clone()
        } else {
            r.str()
        };
        let account = opt(4, &mut r, p.as_ref().map(|p| p.account.clone()));
        let principal_arn = opt(5, &mut r, p.as_ref().map(|p| p.principal_arn.clone()));
        let access_key_id = opt(6, &mut r, p.as_ref().map(|p| p.access_key_id.clone()));
        let key_id = opt(7, &mut r, p.as_ref().map(|p| p.key_id.clone()));
        let source_key_id = opt(8, &mut r, p.as_ref().map(|p| p.source_key_id.clone()));
        let error_code = opt(9, &mut r, p.as_ref().map(|p| p.error_code.clone()));
        let time = p.as_ref().map_or(0, |p| p.time) + r.zigzag();
        let before: Vec<u8> = p.as_ref().map(|p| p.record.clone()).unwrap_or_default();
        let len = usize::try_from(r.varint()).expect("a record length");
        let mut record = Vec::with_capacity(len);
        while record.len() < len {
            let op = usize::try_from(r.varint()).expect("an op");
            if op & 1 == 1 {
                record.extend_from_slice(r.take(op >> 1));
            } else {
                let from = usize::try_from(r.varint()).expect("an offset");
                record.extend_from_slice(&before[from..from + (op >> 1)]);
            }
        }
        assert_eq!(record.len(), len, "a record longer than it says");
        out.push(StoredEvent {
            chain: chain.to_owned(),
            seq,
            prev_hash,
            hash,
            event_id,
            request_id,
            time,
            event_source,
            event_name,
            read_only: flags & 1 != 0,
            account,
            principal_arn,
            access_key_id,
            key_id,
            source_key_id,
            error_code,
            record,
        });
    }
    assert_eq!(r.at, bytes.len(), "trailing bytes after a batch");
    out
}

/// Decodes a batch of `chain` (either layout).
pub fn decode(chain: &str, bytes: &[u8]) -> Vec<StoredEvent> {
    if is_layout_2(bytes) {
        return decode_layout_2(chain, bytes);
    }
    let mut r = Reader { bytes, at: 0 };
    let count = r.u32();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(StoredEvent {
            chain: chain.to_owned(),
            seq: r.i64(),
            prev_hash: r.take(32).to_vec(),
            hash: r.take(32).to_vec(),
            event_id: r.str(),
            request_id: r.opt(),
            time: r.i64(),
            event_source: r.str(),
            event_name: r.str(),
            read_only: match r.take(1)[0] {
                0 => false,
                1 => true,
                b => panic!("read_only byte {b} in a batch"),
            },
            account: r.opt(),
            principal_arn: r.opt(),
            access_key_id: r.opt(),
            key_id: r.opt(),
            source_key_id: r.opt(),
            error_code: r.opt(),
            record: r.bytes(),
        });
    }
    assert_eq!(r.at, bytes.len(), "trailing bytes after a batch");
    out
}

/// Every stored event of every chain, decoded, ordered by (chain, seq).
pub async fn stored_events(db: &SqlitePool) -> Vec<StoredEvent> {
    let rows = sqlx::query("SELECT chain, events FROM audit_batches")
        .fetch_all(db)
        .await
        .expect("read the audit batches");
    let mut events: Vec<StoredEvent> = Vec::new();
    for row in &rows {
        let chain: String = row.get("chain");
        let bytes: Vec<u8> = row.get("events");
        let batch = decode(&chain, &bytes);
        if !is_layout_2(&bytes) {
            assert_eq!(
                encode(&batch),
                bytes,
                "the test's codec does not round-trip a stored batch"
            );
        }
        events.extend(batch);
    }
    events.sort_by(|a, b| a.chain.cmp(&b.chain).then(a.seq.cmp(&b.seq)));
    events
}

/// The scratch table's columns (those of the per-event table SQLite used to store the trail in,
/// plus `source_key_id`).
macro_rules! columns {
    () => {
        "chain, seq, prev_hash, hash, event_id, request_id, event_time, event_source, event_name, \
         read_only, account, principal_arn, access_key_id, key_id, source_key_id, error_code, record"
    };
}

/// Rewrites the trail as one batch per event, and copies every event into a scratch table
/// `audit_events` (one row per event, one column per field) for SQL edits; see [`implode`].
pub async fn explode(db: &SqlitePool) {
    let events = stored_events(db).await;
    assert!(!events.is_empty(), "no audit events to explode");
    let mut tx = db.begin().await.expect("begin");
    sqlx::query(
        "CREATE TABLE audit_events (
            chain          TEXT NOT NULL,
            seq            BIGINT NOT NULL,
            prev_hash      BLOB NOT NULL,
            hash           BLOB NOT NULL,
            event_id       TEXT NOT NULL,
            request_id     TEXT,
            event_time     BIGINT NOT NULL,
            event_source   TEXT NOT NULL,
            event_name     TEXT NOT NULL,
            read_only      BOOLEAN NOT NULL,
            account        TEXT,
            principal_arn  TEXT,
            access_key_id  TEXT,
            key_id         TEXT,
            source_key_id  TEXT,
            error_code     TEXT,
            record         BLOB NOT NULL,
            PRIMARY KEY (chain, seq)
        )",
    )
    .execute(&mut *tx)
    .await
    .expect("create the scratch table audit_events");
    sqlx::query("DELETE FROM audit_batches")
        .execute(&mut *tx)
        .await
        .expect("clear audit_batches");
    for e in &events {
        insert_batch(&mut tx, e).await;
        sqlx::query(concat!(
            "INSERT INTO audit_events (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ))
        .bind(&e.chain)
        .bind(e.seq)
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .bind(&e.event_id)
        .bind(&e.request_id)
        .bind(e.time)
        .bind(&e.event_source)
        .bind(&e.event_name)
        .bind(e.read_only)
        .bind(&e.account)
        .bind(&e.principal_arn)
        .bind(&e.access_key_id)
        .bind(&e.key_id)
        .bind(&e.source_key_id)
        .bind(&e.error_code)
        .bind(&e.record)
        .execute(&mut *tx)
        .await
        .expect("copy an event into audit_events");
    }
    tx.commit().await.expect("commit the explode");
}

/// Replaces the stored trail with the scratch table `audit_events` as it stands (edits, shifted,
/// swapped or missing seqs included): each row becomes a batch of its own, stored at the row's
/// seq. Drops the scratch table.
pub async fn implode(db: &SqlitePool) {
    let mut tx = db.begin().await.expect("begin");
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM audit_events ORDER BY chain, seq"
    ))
    .fetch_all(&mut *tx)
    .await
    .expect("read the scratch table audit_events");
    sqlx::query("DELETE FROM audit_batches")
        .execute(&mut *tx)
        .await
        .expect("clear audit_batches");
    for row in &rows {
        insert_batch(&mut tx, &from_row(row)).await;
    }
    sqlx::query("DROP TABLE audit_events")
        .execute(&mut *tx)
        .await
        .expect("drop the scratch table");
    tx.commit().await.expect("commit the implode");
}

fn from_row(row: &SqliteRow) -> StoredEvent {
    StoredEvent {
        chain: row.get("chain"),
        seq: row.get("seq"),
        prev_hash: row.get("prev_hash"),
        hash: row.get("hash"),
        event_id: row.get("event_id"),
        request_id: row.get("request_id"),
        time: row.get("event_time"),
        event_source: row.get("event_source"),
        event_name: row.get("event_name"),
        read_only: row.get("read_only"),
        account: row.get("account"),
        principal_arn: row.get("principal_arn"),
        access_key_id: row.get("access_key_id"),
        key_id: row.get("key_id"),
        source_key_id: row.get("source_key_id"),
        error_code: row.get("error_code"),
        record: row.get("record"),
    }
}

/// Stores `e` as a batch of its own.
async fn insert_batch(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, e: &StoredEvent) {
    sqlx::query(
        "INSERT INTO audit_batches (chain, first_seq, last_seq, min_time, max_time, events) \
         VALUES ($1, $2, $2, $3, $3, $4)",
    )
    .bind(&e.chain)
    .bind(e.seq)
    .bind(e.time)
    .bind(encode(std::slice::from_ref(e)))
    .execute(&mut **tx)
    .await
    .expect("store a one-event batch");
}
