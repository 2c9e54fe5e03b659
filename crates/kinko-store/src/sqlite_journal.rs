//! The audit journal of the SQLite store: where the group-commit writer's batches become durable.
//!
//! A batch is one record appended to a plain file and flushed with `fdatasync` by the journal's
//! writer thread: one write and one flush per group commit, against about a dozen page writes,
//! WAL frames and a B-tree insert with its triggers for an SQLite commit. The batches are then *folded* into `audit_batches` beside the
//! request path: every batch pending, one row each, in one SQLite transaction; the row holds the
//! batch as the journal record encoded it, so nothing is encoded twice.
//!
//! Two files, `<db>-audit-a` and `<db>-audit-b`, take appends in turn. Appends go to the active
//! file; once it holds [`SWITCH_BYTES`] and every record of the other file is folded, appends
//! rewind to the start of the other file. So a fold never holds up an append, and the files stay
//! small without ever being truncated.
//!
//! Invariants:
//! - The database holds a gapless prefix of every chain; the journal holds the rest. Pending
//!   batches are folded in append order, and everything that reads the trail or writes a change
//!   with its own event folds first (`SqliteStore`), so reads see every acknowledged event and a
//!   change's event follows the journal's.
//! - A file is rewound only when all its records are in the database, so on disk every record
//!   not yet folded survives until it is. Records left behind by a rewind are ones the database
//!   already holds: recovery skips what the database holds (by sequence number) and applies the
//!   rest in order, each checked against the chain (numbering and hashes).
//! - A record ends with SHA-256 over its bytes: a torn write is the end of that file's records.
//! - One process at a time owns the journal (an exclusive lock on file a). A second process that
//!   opens the store while a server runs works without one: it reads what is folded and writes
//!   straight to the database, as a store without a journal does.
//! - A failed append leaves the write position where it was, so the retry overwrites it; the
//!   files are switched only after an append succeeds.
//!
//! Record: `magic "KINKOAJ1" | u32 body length | body | [32] SHA-256(magic, length, body)`,
//! body: `u16 chain length | chain | i64 first seq | [32] hash of the event before | batch`
//! (`audit_codec` layout), all big-endian.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kinko_core::{AuditEvent, StoreError, chain_hash};
use sqlx::sqlite::SqlitePool;

use crate::audit_codec;
use crate::sqlite_audit::{self, BatchRow, Head};

const MAGIC: &[u8; 8] = b"KINKOAJ1";
/// Appends move to the other file once the active one holds this much (and the other is folded).
const SWITCH_BYTES: u64 = 4 << 20;
/// Files grow in steps of this many zero bytes, so most flushes carry no change of file size.
const GROW_BYTES: u64 = 1 << 20;
/// How long pending batches wait for a fold after the first of them is appended: folds come at
/// most this often, and a reader of the database file alone (another process, while the server
/// runs) lags this much behind. Measured at 64 connections: a fold every 250 ms costs the SQLite
/// thread a fifth less than one every 50 ms.
pub(crate) const FOLD_DELAY: Duration = Duration::from_millis(250);

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> StoreError {
    StoreError::unavailable(format!("audit journal {}: {what}: {e}", path.display()))
}

/// A batch appended to the journal and not yet in the database.
struct Pending {
    file: usize,
    chain: String,
    row: BatchRow,
    /// The journal record; the batch is `record[batch]`.
    record: Vec<u8>,
    batch: std::ops::Range<usize>,
}

#[derive(Default)]
struct State {
    /// The file appends go to (0: a, 1: b).
    active: usize,
    /// Where the next append goes in the active file.
    offset: u64,
    /// Each file's length (its tail is zeros or old records).
    allocated: [u64; 2],
    pending: VecDeque<Pending>,
    /// Batches of each file a fold is writing to the database right now.
    folding: [usize; 2],
    /// Set by [`Journal::retire`]: appends fail from then on.
    retired: bool,
}

impl State {
    fn holds_unfolded(&self, file: usize) -> bool {
        self.folding[file] > 0 || self.pending.iter().any(|p| p.file == file)
    }
}

/// The journal of one SQLite store.
pub(crate) struct Journal {
    paths: [PathBuf; 2],
    files: [Arc<File>; 2],
    /// The journal's writer thread (see [`start_writer`]).
    writer: std::sync::mpsc::Sender<Write>,
    state: std::sync::Mutex<State>,
    /// Held by a fold from taking its batches until they are in the database or back in the
    /// queue, so batches reach the database in order.
    fold_lock: tokio::sync::Mutex<()>,
    /// A fold is scheduled to run after [`FOLD_DELAY`].
    fold_scheduled: AtomicBool,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

/// `<db>-audit-a` and `<db>-audit-b`.
pub(crate) fn journal_paths(db: &Path) -> [PathBuf; 2] {
    let name = |suffix: &str| {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    [name("-audit-a"), name("-audit-b")]
}

/// One decoded journal record.
struct Record {
    chain: String,
    first_seq: i64,
    prev_hash: [u8; 32],
    batch: Vec<u8>,
}

/// The journal record of `events` (after `prev` in `chain`), and where in it the encoded batch is.
fn encode_record(
    chain: &str,
    prev: Head,
    events: &[AuditEvent],
) -> (Vec<u8>, std::ops::Range<usize>) {
    let batch = audit_codec::encode(events);
    let mut out = Vec::with_capacity(8 + 4 + 2 + chain.len() + 8 + 32 + batch.len() + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(chain.len() as u16).to_be_bytes());
    out.extend_from_slice(chain.as_bytes());
    out.extend_from_slice(&(prev.0 + 1).to_be_bytes());
    out.extend_from_slice(&prev.1);
    let start = out.len();
    out.extend_from_slice(&batch);
    let end = out.len();
    let length = ((end - 12) as u32).to_be_bytes();
    out[8..12].copy_from_slice(&length);
    let digest = kinko_crypto::sha256_parts(&[&out]);
    out.extend_from_slice(&digest);
    (out, start..end)
}

/// The records of one file, from its start to the first place that does not hold one.
fn decode_records(bytes: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while let Some((record, next)) = decode_record(bytes, at) {
        out.push(record);
        at = next;
    }
    out
}

fn decode_record(bytes: &[u8], at: usize) -> Option<(Record, usize)> {
    let rest = bytes.get(at..)?;
    if rest.get(..8)? != MAGIC {
        return None;
    }
    let length = u32::from_be_bytes(rest.get(8..12)?.try_into().ok()?) as usize;
    let body = rest.get(12..12 + length)?;
    let digest = rest.get(12 + length..12 + length + 32)?;
    let expected = kinko_crypto::sha256_parts(&[MAGIC, &rest[8..12], body]);
    if digest != expected {
        return None;
    }
    let chain_len = u16::from_be_bytes(body.get(..2)?.try_into().ok()?) as usize;
    let chain = std::str::from_utf8(body.get(2..2 + chain_len)?).ok()?;
    let at_seq = 2 + chain_len;
    let first_seq = i64::from_be_bytes(body.get(at_seq..at_seq + 8)?.try_into().ok()?);
    let prev_hash: [u8; 32] = body.get(at_seq + 8..at_seq + 40)?.try_into().ok()?;
    let record = Record {
        chain: chain.to_owned(),
        first_seq,
        prev_hash,
        batch: body.get(at_seq + 40..)?.to_vec(),
    };
    Some((record, at + 12 + length + 32))
}

/// Checks that `events` continue the chain at `head` (numbering and hashes).
fn continues(chain: &str, head: Head, events: &[AuditEvent]) -> bool {
    let mut at = head;
    for e in events {
        if e.chain != chain
            || e.seq != at.0 + 1
            || e.prev_hash != at.1
            || e.hash != chain_hash(&at.1, chain, e.seq, &e.draft.record)
        {
            return false;
        }
        at = (e.seq, e.hash);
    }
    !events.is_empty()
}

/// Takes the lock on `path`, making sure it is on the file the path names now (a process that
/// retires the journal removes the files, and a lock on a removed file would guard nothing).
fn lock(path: &Path) -> Result<Option<File>, StoreError> {
    for _ in 0..8 {
        let file = open_file(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error("lock", path, &e)),
        }
        let held = file.metadata().map_err(|e| io_error("stat", path, &e))?;
        match std::fs::metadata(path) {
            Ok(named) if named.ino() == held.ino() && named.dev() == held.dev() => {
                return Ok(Some(file));
            }
            _ => continue,
        }
    }
    Ok(None)
}

fn open_file(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| io_error("open", path, &e))
}

fn sync_dir(path: &Path) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("flush the directory", dir, &e))
}

/// Writes `record` at `offset`, first growing the file with zeros when the record would pass its
/// end, then flushes. Returns the file's length.
fn write_record(file: &File, record: &[u8], offset: u64, allocated: u64) -> std::io::Result<u64> {
    static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
    let end = offset + record.len() as u64;
    let mut length = allocated;
    if end > length {
        let target = end.div_ceil(GROW_BYTES) * GROW_BYTES;
        while length < target {
            let n = (target - length).min(ZEROS.len() as u64) as usize;
            file.write_all_at(&ZEROS[..n], length)?;
            length += n as u64;
        }
    }
    file.write_all_at(record, offset)?;
    file.sync_data()?;
    Ok(length)
}

/// A record for the writer thread to write and flush.
struct Write {
    file: Arc<File>,
    record: Vec<u8>,
    offset: u64,
    allocated: u64,
    done: tokio::sync::oneshot::Sender<(std::io::Result<u64>, Vec<u8>)>,
}

/// Starts the thread that writes and flushes journal records, one at a time, so that no runtime
/// worker blocks in `fdatasync`. It ends when the journal (the sender) is dropped.
fn start_writer() -> Result<std::sync::mpsc::Sender<Write>, StoreError> {
    let (tx, rx) = std::sync::mpsc::channel::<Write>();
    std::thread::Builder::new()
        .name("kinko-journal".into())
        .spawn(move || {
            while let Ok(w) = rx.recv() {
                let written = write_record(&w.file, &w.record, w.offset, w.allocated);
                let _ = w.done.send((written, w.record));
            }
        })
        .map_err(|e| StoreError::unavailable(format!("audit journal writer thread: {e}")))?;
    Ok(tx)
}

impl Journal {
    /// Opens the journal of the database at `db` and applies to `pool` every record the database
    /// does not hold yet (what a process that stopped without closing the store left). `None`
    /// when another process owns the journal.
    pub(crate) async fn open(db: &Path, pool: &SqlitePool) -> Result<Option<Journal>, StoreError> {
        let paths = journal_paths(db);
        let existed = paths.iter().all(|p| p.exists());
        let Some(a) = lock(&paths[0])? else {
            return Ok(None);
        };
        let b = open_file(&paths[1])?;
        if !existed {
            sync_dir(&paths[0])?;
        }
        let mut contents = Vec::new();
        for (file, path) in [(&a, &paths[0]), (&b, &paths[1])] {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut &*file, &mut bytes)
                .map_err(|e| io_error("read", path, &e))?;
            contents.push(bytes);
        }
        let mut records: Vec<Record> = contents.iter().flat_map(|b| decode_records(b)).collect();
        if !records.is_empty() {
            recover(pool, &mut records, db).await?;
        }
        let state = State {
            allocated: [contents[0].len() as u64, contents[1].len() as u64],
            ..State::default()
        };
        Ok(Some(Journal {
            paths,
            files: [Arc::new(a), Arc::new(b)],
            state: std::sync::Mutex::new(state),
            fold_lock: tokio::sync::Mutex::new(()),
            fold_scheduled: AtomicBool::new(false),
            writer: start_writer()?,
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes `events` (after `head` in `chain`, ending at `new_head`) durable in the journal. The
    /// caller holds the chain-head lock, so appends are in chain order.
    pub(crate) async fn append(
        &self,
        chain: &str,
        head: Head,
        events: &[AuditEvent],
        new_head: Head,
    ) -> Result<(), StoreError> {
        let row = BatchRow::new(head, events, new_head);
        let (record, batch) = encode_record(chain, head, events);
        let (file, offset, allocated) = {
            let s = self.state();
            if s.retired {
                return Err(StoreError::unavailable("the store is closed"));
            }
            (s.active, s.offset, s.allocated[s.active])
        };
        let handle = Arc::clone(&self.files[file]);
        let length = record.len() as u64;
        let (done, written) = tokio::sync::oneshot::channel();
        let job = Write {
            file: handle,
            record,
            offset,
            allocated,
            done,
        };
        let gone = || StoreError::unavailable("the audit journal's writer thread stopped");
        self.writer.send(job).map_err(|_| gone())?;
        let (written, record) = written.await.map_err(|_| gone())?;
        let written = written.map_err(|e| io_error("append", &self.paths[file], &e))?;
        let mut s = self.state();
        s.allocated[file] = written;
        s.offset = offset + length;
        s.pending.push_back(Pending {
            file,
            chain: chain.to_owned(),
            row,
            record,
            batch,
        });
        let other = 1 - file;
        if s.offset >= SWITCH_BYTES && !s.holds_unfolded(other) {
            s.active = other;
            s.offset = 0;
        }
        Ok(())
    }

    /// True (once) when a fold should be scheduled: the first append after the last fold began.
    pub(crate) fn should_schedule_fold(&self) -> bool {
        !self.fold_scheduled.swap(true, Ordering::AcqRel)
    }

    /// Writes every pending batch to the database, in order, one row each, in one transaction.
    /// On failure the batches stay pending.
    pub(crate) async fn fold(&self, pool: &SqlitePool) -> Result<(), StoreError> {
        let _order = self.fold_lock.lock().await;
        self.fold_scheduled.store(false, Ordering::Release);
        let rows: Vec<Pending> = {
            let mut s = self.state();
            let rows: Vec<Pending> = s.pending.drain(..).collect();
            for r in &rows {
                s.folding[r.file] += 1;
            }
            rows
        };
        if rows.is_empty() {
            return Ok(());
        }
        let written = async {
            let mut tx = pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(StoreError::unavailable)?;
            for r in &rows {
                sqlite_audit::insert_row(&mut tx, &r.chain, &r.row, &r.record[r.batch.clone()])
                    .await?;
            }
            tx.commit().await.map_err(StoreError::unavailable)
        }
        .await;
        let mut s = self.state();
        for r in &rows {
            s.folding[r.file] -= 1;
        }
        if written.is_err() {
            for r in rows.into_iter().rev() {
                s.pending.push_front(r);
            }
        }
        written
    }

    /// After a last fold: removes the files (nothing in them is needed any more) and refuses
    /// appends from then on. Keeps them when batches are still pending.
    pub(crate) fn retire(&self) {
        let mut s = self.state();
        s.retired = true;
        if s.pending.is_empty() && s.folding == [0, 0] {
            for p in &self.paths {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// Applies, in one transaction, the records that continue the database's chains.
async fn recover(pool: &SqlitePool, records: &mut [Record], db: &Path) -> Result<(), StoreError> {
    let corrupt = |what: String| {
        StoreError::Corrupt(format!(
            "audit journal of {}: {what}; the journal files are kept for inspection",
            db.display()
        ))
    };
    records.sort_by(|x, y| (&x.chain, x.first_seq).cmp(&(&y.chain, y.first_seq)));
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(StoreError::unavailable)?;
    let mut heads: HashMap<String, Head> = HashMap::new();
    for r in records.iter() {
        let head = match heads.get(&r.chain) {
            Some(h) => *h,
            None => sqlite_audit::read_head(&mut *tx, &r.chain).await?,
        };
        if r.first_seq <= head.0 {
            continue;
        }
        if r.first_seq != head.0 + 1 || r.prev_hash != head.1 {
            return Err(corrupt(format!(
                "chain {} continues at {} in the journal, after {} in the database",
                r.chain, r.first_seq, head.0
            )));
        }
        let events = audit_codec::decode(&r.chain, &r.batch)?;
        if !continues(&r.chain, head, &events) {
            return Err(corrupt(format!(
                "the batch of chain {} from {} does not continue the chain",
                r.chain, r.first_seq
            )));
        }
        let last = events.last().map(|e| (e.seq, e.hash)).unwrap_or(head);
        let row = BatchRow::new(head, &events, last);
        sqlite_audit::insert_row(&mut tx, &r.chain, &row, &r.batch).await?;
        heads.insert(r.chain.clone(), last);
    }
    tx.commit().await.map_err(StoreError::unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinko_core::{AuditDraft, UnixMillis, chain_events};

    fn draft(n: i64) -> AuditDraft {
        AuditDraft {
            event_id: format!("e{n}"),
            request_id: Some(format!("r{n}")),
            time: UnixMillis(1_700_000_000_000 + n),
            event_source: "kms.amazonaws.com".into(),
            event_name: "Encrypt".into(),
            read_only: true,
            account: None,
            principal_arn: None,
            access_key_id: None,
            key_id: None,
            source_key_id: None,
            error_code: None,
            record: format!("{{\"n\":{n}}}").into_bytes(),
        }
    }

    /// What a crash leaves: a database with a prefix of the chain, and journal files holding
    /// records the database has (left by a rewind), records it lacks, and a torn tail.
    #[tokio::test]
    async fn opening_applies_what_the_database_lacks_and_refuses_a_gap() {
        use kinko_core::AuditStore;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("kinko.db");
        let store = crate::SqliteStore::open(&db).await.expect("open");
        let stored = store
            .append_audit("node-1", &[draft(1), draft(2)])
            .await
            .expect("append");
        store.close().await;
        let paths = journal_paths(&db);
        assert!(!paths[0].exists(), "a clean close removes the journal");

        let head = (2, stored[1].hash);
        let (stale, _) = chain_events("node-1", (0, [0; 32]), &[draft(1), draft(2)]);
        let (lacking, after) = chain_events("node-1", head, &[draft(3), draft(4)]);
        let (last, end) = chain_events("node-1", after, &[draft(5)]);
        let mut a = encode_record("node-1", (0, [0; 32]), &stale).0;
        a.extend(encode_record("node-1", head, &lacking).0);
        let torn = encode_record("node-1", end, &[]).0;
        a.extend(&torn[..torn.len() - 3]);
        std::fs::write(&paths[0], &a).expect("write journal a");
        std::fs::write(&paths[1], encode_record("node-1", after, &last).0)
            .expect("write journal b");

        let store = crate::SqliteStore::open(&db).await.expect("reopen");
        let events = store.audit_events("node-1", 0, 100).await.expect("read");
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        assert_eq!(events[2..], [lacking, last].concat()[..]);
        store.close().await;

        // A record that does not continue the chain (events 6 are missing) refuses the open.
        let (gap, _) = chain_events("node-1", (6, [9; 32]), &[draft(7)]);
        std::fs::write(&paths[0], encode_record("node-1", (6, [9; 32]), &gap).0)
            .expect("write journal a");
        match crate::SqliteStore::open(&db).await {
            Err(StoreError::Corrupt(what)) => assert!(what.contains("continues at 7"), "{what}"),
            other => panic!("a gap opened: {other:?}"),
        }
    }

    #[test]
    fn records_round_trip_and_a_torn_or_altered_one_ends_the_file() {
        let (events, head) = chain_events("node-1", (0, [0; 32]), &[draft(1), draft(2)]);
        let (more, _) = chain_events("node-1", head, &[draft(3)]);
        let (mut file, batch) = encode_record("node-1", (0, [0; 32]), &events);
        assert_eq!(&file[batch], &audit_codec::encode(&events)[..]);
        let first_len = file.len();
        file.extend(encode_record("node-1", head, &more).0);
        file.extend([0u8; 100]);
        let records = decode_records(&file);
        assert_eq!(records.len(), 2);
        assert_eq!(
            (records[1].chain.as_str(), records[1].first_seq),
            ("node-1", 3)
        );
        assert_eq!(records[1].prev_hash, head.1);
        let decoded = audit_codec::decode("node-1", &records[0].batch).expect("decode");
        assert!(continues("node-1", (0, [0; 32]), &decoded));
        assert!(!continues("node-1", head, &decoded));

        // Torn: the second record lost its last byte.
        let torn = &file[..file.len() - 101];
        assert_eq!(decode_records(torn).len(), 1);
        // Altered: one byte of the second record's batch flipped.
        let mut altered = file.clone();
        altered[first_len + 60] ^= 1;
        assert_eq!(decode_records(&altered).len(), 1);
    }
}
