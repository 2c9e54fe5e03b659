//! What several nodes on one PostgreSQL database need beyond the [`kinko_core::Store`] contract:
//! the change feed that keeps their caches in step, and the advisory lock under which one node at
//! a time runs the scheduled jobs.
//!
//! The feed is the `key_changes` table (migration 0005), filled by triggers in the transaction
//! of every change to a key, its material, its tags or an alias, plus a notification on
//! [`CHANNEL`] that PostgreSQL delivers at commit. [`ChangeListener`] waits for notifications;
//! [`ChangeFeed::poll`] reads the rows after the last one seen, so a notification lost (or sent
//! while the listener reconnected) is caught by the next poll anyway.
//!
//! Sequence numbers are assigned when a row is inserted, not when its transaction commits: a
//! poll may see seq 12 committed while seq 11 is still in flight. The feed remembers such gaps
//! and asks for them again for [`GAP_PATIENCE`] (a gap that never fills is a rolled-back change).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kinko_core::{AccountId, AliasName, JobLock, KeyId, Region, StoreError};
use sqlx::postgres::{PgListener, PgPool};
use sqlx::{Postgres, Row, Transaction};

use crate::sql::unavailable;

/// The notification channel the triggers raise.
pub const CHANNEL: &str = "kinko_key_changes";

/// Key of the advisory lock held while the scheduled jobs run ("kinko-jb" in ASCII).
const JOB_LOCK: i64 = 0x6b69_6e6b_6f2d_6a62;

/// How long a gap in the sequence is asked for again before it is taken for a rollback.
pub const GAP_PATIENCE: Duration = Duration::from_secs(30);

/// Most gaps remembered at once; past that the feed reports [`Change::Everything`].
const MAX_GAPS: usize = 10_000;

/// Rows read per query.
const PAGE: i64 = 1_000;

/// What another node changed, as far as caches care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A key's record, material or tags (or the key is gone).
    Key(KeyId),
    /// An alias appeared, moved or went away.
    Alias {
        /// Its account.
        account: AccountId,
        /// Its region.
        region: Region,
        /// Its name.
        name: AliasName,
    },
    /// Something the feed cannot name precisely (an unreadable row, too many gaps): forget all.
    Everything,
}

/// A reader of the change feed, positioned after the last change it reported.
#[derive(Debug)]
pub struct ChangeFeed {
    pool: PgPool,
    last: i64,
    /// Sequence numbers below `last` not seen yet, with when they were first missed.
    gaps: BTreeMap<i64, Instant>,
}

impl ChangeFeed {
    pub(crate) async fn start(pool: PgPool) -> Result<ChangeFeed, StoreError> {
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM key_changes")
            .fetch_one(&pool)
            .await
            .map_err(unavailable)?;
        Ok(ChangeFeed {
            pool,
            last,
            gaps: BTreeMap::new(),
        })
    }

    /// The last sequence number read.
    pub fn position(&self) -> i64 {
        self.last
    }

    /// The changes committed since the last poll (and those that filled a remembered gap).
    pub async fn poll(&mut self) -> Result<Vec<Change>, StoreError> {
        let now = Instant::now();
        self.gaps
            .retain(|_, missed| now.duration_since(*missed) < GAP_PATIENCE);
        let mut out = Vec::new();
        loop {
            let gaps: Vec<i64> = self.gaps.keys().copied().collect();
            let rows = sqlx::query(
                "SELECT seq, key_id, alias_account, alias_region, alias_name FROM key_changes \
                 WHERE seq > $1 OR seq = ANY($2) ORDER BY seq LIMIT $3",
            )
            .bind(self.last)
            .bind(&gaps)
            .bind(PAGE)
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
            let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= PAGE;
            for row in rows {
                let seq: i64 = row.try_get("seq").map_err(unavailable)?;
                if self.gaps.remove(&seq).is_none() {
                    if seq > self.last.saturating_add(1) {
                        let missing = seq - self.last - 1;
                        if usize::try_from(missing).map_or(true, |m| self.gaps.len() + m > MAX_GAPS)
                        {
                            out.push(Change::Everything);
                        } else {
                            for gap in self.last + 1..seq {
                                self.gaps.insert(gap, now);
                            }
                        }
                    }
                    self.last = self.last.max(seq);
                }
                out.push(decode(&row));
            }
            if !full {
                return Ok(out);
            }
        }
    }

    /// Deletes rows older than `age` (every node's feed has read them long ago); returns how
    /// many went.
    pub async fn prune(&self, age: Duration) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM key_changes WHERE changed_at < clock_timestamp() - make_interval(secs => $1)",
        )
        .bind(age.as_secs_f64())
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(done.rows_affected())
    }
}

fn decode(row: &sqlx::postgres::PgRow) -> Change {
    let text = |name: &str| row.try_get::<Option<String>, _>(name).ok().flatten();
    match (
        text("alias_account"),
        text("alias_region"),
        text("alias_name"),
    ) {
        (Some(account), Some(region), Some(name)) => {
            match (
                AccountId::parse(&account),
                Region::parse(&region),
                AliasName::parse(&name),
            ) {
                (Some(account), Some(region), Ok(name)) => Change::Alias {
                    account,
                    region,
                    name,
                },
                _ => Change::Everything,
            }
        }
        _ => match text("key_id").as_deref().and_then(KeyId::parse_storage) {
            Some(id) => Change::Key(id),
            None => Change::Everything,
        },
    }
}

/// A connection that listens on [`CHANNEL`].
#[derive(Debug)]
pub struct ChangeListener(PgListener);

impl ChangeListener {
    pub(crate) async fn start(pool: &PgPool) -> Result<ChangeListener, StoreError> {
        let mut listener = PgListener::connect_with(pool).await.map_err(unavailable)?;
        listener.listen(CHANNEL).await.map_err(unavailable)?;
        Ok(ChangeListener(listener))
    }

    /// Waits for the next notification. `Ok(true)`: a change committed; `Ok(false)`: the
    /// connection was lost and is re-established on the next call, so notifications may have
    /// been missed (poll the feed).
    pub async fn wait(&mut self) -> Result<bool, StoreError> {
        match self.0.try_recv().await {
            Ok(Some(_)) => Ok(true),
            Ok(None) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// The scheduled jobs' lock on PostgreSQL: a transaction holding
/// `pg_try_advisory_xact_lock(JOB_LOCK)`. Released by committing the transaction (or, if the
/// guard is dropped, by the rollback sqlx issues, or when the connection closes).
pub(crate) struct PgJobLock(Option<Transaction<'static, Postgres>>);

impl std::fmt::Debug for PgJobLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgJobLock")
            .field("held", &self.0.is_some())
            .finish()
    }
}

impl PgJobLock {
    /// Takes the lock if no other session holds it.
    pub(crate) async fn try_take(pool: &PgPool) -> Result<Option<PgJobLock>, StoreError> {
        let mut tx = pool.begin().await.map_err(unavailable)?;
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(JOB_LOCK)
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?;
        if taken {
            Ok(Some(PgJobLock(Some(tx))))
        } else {
            let _ = tx.rollback().await;
            Ok(None)
        }
    }
}

#[async_trait]
impl JobLock for PgJobLock {
    async fn release(mut self: Box<Self>) {
        if let Some(tx) = self.0.take() {
            // A commit that fails leaves a broken connection, and the lock ends with its session.
            let _ = tx.commit().await;
        }
    }
}
