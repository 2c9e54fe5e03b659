//! Keeps this node's caches in step with the other nodes on one PostgreSQL database: a task that
//! LISTENs for change notifications and polls the change feed (`kinko_store::ChangeFeed`) on
//! every notification and every [`POLL_EVERY`] anyway, and tells the core what to forget. A
//! notification lost, or missed while the listening connection was re-established, is caught by
//! the next poll; if the feed itself cannot be read, everything is forgotten once it can again.
//! So another node's change reaches this node's cache within about [`POLL_EVERY`] at worst, and
//! within a round trip or two when notifications flow.
//!
//! SQLite is one node: nothing to do, and no task is started.

use std::sync::Arc;
use std::time::Duration;

use kinko_core::{Kms, StoreError};
use kinko_store::{Change, ChangeFeed, ChangeListener, PgStore};

/// Longest wait between two polls of the change feed.
pub const POLL_EVERY: Duration = Duration::from_millis(250);
/// How often this node prunes old change-feed rows.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Change-feed rows older than this are pruned (every node has read them long before).
const KEEP_FOR: Duration = Duration::from_secs(600);

/// Starts the task: reads the feed's current end first, so that this node forgets every change
/// committed after it started (its caches are empty before that).
pub async fn spawn(
    kms: Arc<Kms>,
    store: PgStore,
) -> Result<tokio::task::JoinHandle<()>, StoreError> {
    let feed = store.change_feed().await?;
    tracing::info!(
        position = feed.position(),
        "following the change feed of other nodes"
    );
    Ok(tokio::spawn(follow(kms, store, feed)))
}

async fn follow(kms: Arc<Kms>, store: PgStore, mut feed: ChangeFeed) {
    let mut listener: Option<ChangeListener> = None;
    let mut feed_lost = false;
    let mut last_prune = tokio::time::Instant::now();
    loop {
        if listener.is_none() {
            match store.listen_changes().await {
                Ok(l) => listener = Some(l),
                Err(e) => tracing::warn!(error = %e, "cannot LISTEN for changes; polling only"),
            }
        }
        if let Some(l) = listener.as_mut() {
            match tokio::time::timeout(POLL_EVERY, l.wait()).await {
                // A notification, a timeout, or a lost connection (re-established on the next
                // wait): poll in every case.
                Ok(Ok(_)) | Err(_) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "listening for changes failed; reconnecting");
                    listener = None;
                }
            }
        } else {
            tokio::time::sleep(POLL_EVERY).await;
        }
        match feed.poll().await {
            Ok(changes) => {
                if feed_lost {
                    tracing::info!("change feed readable again; forgetting every cached key");
                    kms.invalidate_all();
                    feed_lost = false;
                }
                apply(&kms, &changes);
            }
            Err(e) => {
                if !feed_lost {
                    tracing::warn!(error = %e, "reading the change feed failed; retrying");
                }
                feed_lost = true;
            }
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = tokio::time::Instant::now();
            if let Err(e) = feed.prune(KEEP_FOR).await {
                tracing::warn!(error = %e, "pruning the change feed failed");
            }
        }
    }
}

fn apply(kms: &Kms, changes: &[Change]) {
    for change in changes {
        match change {
            Change::Key(id) => kms.invalidate_key(id),
            Change::Alias {
                account,
                region,
                name,
            } => kms.invalidate_alias(account, region, name),
            Change::Everything => kms.invalidate_all(),
        }
    }
}
