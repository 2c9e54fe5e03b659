//! The audit trail: per-chain hash chains without gaps, mutations that commit with their event
//! (or not at all), queries, digests, pruning, key usage, and durability.

use std::collections::BTreeMap;
use std::sync::Arc;

use kinko_core::{
    AccountId, AuditAppend, AuditCursor, AuditDigest, AuditDraft, AuditEvent, AuditFilter,
    ChainHead, Key, KeyId, KeyLastUsage, KeyState, Store, StoreError, UnixMillis, chain_hash,
};

use crate::backends::Backend;
use crate::fixtures::{
    CHAIN, account, alias, alias_name, audit, create_account, create_key, draft, key, key_id,
    material, tag, us_east_1,
};

/// Chains other than the fixtures' own.
const NODE_A: &str = "node-a";
const NODE_B: &str = "node-b";

/// The number a fixture draft was built from (the last 12 digits of its event id).
fn number(event: &AuditEvent) -> u32 {
    let id = &event.draft.event_id;
    id.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a fixture event id: {id}"))
}

fn numbers(events: &[AuditEvent]) -> Vec<u32> {
    events.iter().map(number).collect()
}

/// The head of `chain`, (0, zeros) when it has none.
async fn head(store: &dyn Store, chain: &str) -> (i64, [u8; 32]) {
    store
        .audit_chains()
        .await
        .expect("audit_chains")
        .into_iter()
        .find(|h| h.chain == chain)
        .map_or((0, [0; 32]), |h| (h.last_seq, h.last_hash))
}

/// Every event of `chain`, in chain order, read in pages of `page`.
async fn all_events(store: &dyn Store, chain: &str, page: usize) -> Vec<AuditEvent> {
    let mut out: Vec<AuditEvent> = Vec::new();
    loop {
        let after = out.last().map_or(0, |e| e.seq);
        let next = store
            .audit_events(chain, after, page)
            .await
            .expect("audit_events");
        assert!(next.len() <= page, "a page holds at most `limit` events");
        if next.is_empty() {
            return out;
        }
        out.extend(next);
    }
}

/// Events with exactly this event id, on any chain (through query_audit).
async fn with_event_id(store: &dyn Store, event_id: &str) -> Vec<AuditEvent> {
    store
        .query_audit(
            &AuditFilter {
                event_id: Some(event_id.to_owned()),
                ..AuditFilter::default()
            },
            None,
            100,
        )
        .await
        .expect("query_audit by event id")
}

/// Asserts that `events` are positions `first_seq..` of `chain`, each linked to the one before
/// (`prev_hash` of the first is `prev`) and hashed as `chain_hash` says.
fn assert_linked(events: &[AuditEvent], chain: &str, first_seq: i64, prev: [u8; 32]) {
    let mut prev = prev;
    for (i, e) in events.iter().enumerate() {
        let seq = first_seq + i64::try_from(i).expect("a small index");
        assert_eq!(e.chain, chain, "event {seq} is on its chain");
        assert_eq!(e.seq, seq, "positions are consecutive, without gaps");
        assert_eq!(e.prev_hash, prev, "event {seq} links to the one before");
        assert_eq!(
            e.hash,
            chain_hash(&e.prev_hash, chain, e.seq, &e.draft.record),
            "event {seq} carries chain_hash(prev, chain, seq, record)"
        );
        prev = e.hash;
    }
}

/// append_audit numbers a chain from 1 without gaps across calls, links every event to the one
/// before (zeros before the first), hashes each as `chain_hash` says, and moves the head; the
/// events read back exactly as they were returned.
pub async fn append_audit_numbers_and_links_a_chain(store: &dyn Store) {
    assert_eq!(head(store, NODE_A).await, (0, [0; 32]), "no chain yet");

    let first = store
        .append_audit(
            NODE_A,
            &[
                draft("Encrypt", 1),
                draft("Decrypt", 2),
                draft("Encrypt", 3),
            ],
        )
        .await
        .expect("append three");
    assert_eq!(numbers(&first), [1, 2, 3], "returned in the order given");
    assert_linked(&first, NODE_A, 1, [0; 32]);
    assert_eq!(
        first.first().map(|e| e.draft.clone()),
        Some(draft("Encrypt", 1)),
        "the event carries its draft unchanged"
    );
    let last_hash = first.last().map(|e| e.hash).expect("three events");
    assert_eq!(head(store, NODE_A).await, (3, last_hash));

    let second = store
        .append_audit(NODE_A, &[draft("GenerateDataKey", 4)])
        .await
        .expect("append one");
    assert_linked(&second, NODE_A, 4, last_hash);
    let third = store
        .append_audit(NODE_A, &[draft("Decrypt", 5), draft("ListKeys", 6)])
        .await
        .expect("append two");
    let last = third.last().expect("two events").clone();
    assert_linked(&third, NODE_A, 5, second.last().expect("one event").hash);
    assert_eq!(head(store, NODE_A).await, (6, last.hash));

    let expected: Vec<AuditEvent> = first.into_iter().chain(second).chain(third).collect();
    assert_eq!(
        store
            .audit_events(NODE_A, 0, 100)
            .await
            .expect("audit_events"),
        expected,
        "the chain reads back exactly as appended"
    );
    assert_eq!(
        all_events(store, NODE_A, 4).await,
        expected,
        "and the same in pages"
    );
    assert_eq!(
        numbers(
            &store
                .audit_events(NODE_A, 2, 2)
                .await
                .expect("audit_events")
        ),
        [3, 4],
        "strictly after `after_seq`, at most `limit`"
    );
    assert_eq!(
        store
            .audit_events(NODE_A, 6, 10)
            .await
            .expect("audit_events"),
        vec![],
        "nothing after the head"
    );
    assert_eq!(
        store
            .audit_events(NODE_A, 0, 0)
            .await
            .expect("audit_events"),
        vec![]
    );
    assert_eq!(
        store
            .audit_events("no-such-chain", 0, 10)
            .await
            .expect("audit_events"),
        vec![]
    );
}

/// Two chains number and link independently; the same record hashes differently on each; each
/// has its own head.
pub async fn audit_chains_are_independent(store: &dyn Store) {
    let a1 = store
        .append_audit(NODE_A, &[draft("Encrypt", 1)])
        .await
        .expect("append");
    let b = store
        .append_audit(NODE_B, &[draft("Encrypt", 1), draft("Decrypt", 2)])
        .await
        .expect("append");
    let a2 = store
        .append_audit(NODE_A, &[draft("Decrypt", 3)])
        .await
        .expect("append");
    assert_linked(&b, NODE_B, 1, [0; 32]);
    let a: Vec<AuditEvent> = a1.into_iter().chain(a2).collect();
    assert_linked(&a, NODE_A, 1, [0; 32]);
    assert_ne!(
        a.first().map(|e| e.hash),
        b.first().map(|e| e.hash),
        "the same record at the same position hashes differently on another chain"
    );

    let mut heads = store.audit_chains().await.expect("audit_chains");
    heads.sort_by(|x, y| x.chain.cmp(&y.chain));
    assert_eq!(
        heads,
        vec![
            ChainHead {
                chain: NODE_A.to_owned(),
                last_seq: 2,
                last_hash: a.last().expect("two").hash,
            },
            ChainHead {
                chain: NODE_B.to_owned(),
                last_seq: 2,
                last_hash: b.last().expect("two").hash,
            },
        ]
    );
    assert_eq!(all_events(store, NODE_A, 10).await, a);
    assert_eq!(all_events(store, NODE_B, 10).await, b);
}

/// A mutation's event: `draft(name, n)` about `key` (if any), on `CHAIN`.
fn change(name: &str, n: u32, key: Option<KeyId>) -> AuditDraft {
    AuditDraft {
        key_id: key,
        ..draft(name, n)
    }
}

fn on_chain(draft: &AuditDraft) -> AuditAppend<'_> {
    AuditAppend {
        chain: CHAIN,
        draft,
    }
}

/// Asserts that the mutation whose event was `d` committed exactly one event, at the position
/// after `before`, linked to it, and that the head moved there.
async fn assert_committed(store: &dyn Store, d: &AuditDraft, before: (i64, [u8; 32])) {
    let found = with_event_id(store, &d.event_id).await;
    assert_eq!(found.len(), 1, "{} left exactly one event", d.event_name);
    let event = found.first().expect("one event");
    assert_eq!(&event.draft, d, "{} event stored as given", d.event_name);
    assert_eq!(
        (event.chain.as_str(), event.seq, event.prev_hash),
        (CHAIN, before.0 + 1, before.1),
        "{} event is the next link of the chain",
        d.event_name
    );
    assert_eq!(
        head(store, CHAIN).await,
        (event.seq, event.hash),
        "{} moved the head",
        d.event_name
    );
}

/// Asserts that the failed mutation whose event was `d` left no event and the head at `before`.
async fn assert_not_committed(store: &dyn Store, d: &AuditDraft, before: (i64, [u8; 32])) {
    assert_eq!(
        with_event_id(store, &d.event_id).await,
        vec![],
        "a failed {} leaves no event",
        d.event_name
    );
    assert_eq!(
        head(store, CHAIN).await,
        before,
        "a failed {} does not move the head",
        d.event_name
    );
}

/// Every successful mutation commits exactly its one event as the next link of the chain.
pub async fn successful_mutations_commit_exactly_their_event(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();

    let k1 = key(&acct, &region, 1);
    let d = change("CreateKey", 101, Some(k1.id()));
    let before = head(store, CHAIN).await;
    store
        .create_key(&k1, &material(&k1), &[tag("a", "1")], on_chain(&d))
        .await
        .expect("create_key");
    assert_committed(store, &d, before).await;

    let mut k1_v2 = k1.clone();
    k1_v2.state = KeyState::Disabled;
    k1_v2.version = 2;
    let d = change("DisableKey", 102, Some(k1.id()));
    let before = head(store, CHAIN).await;
    store
        .update_key(&k1_v2, on_chain(&d))
        .await
        .expect("update_key");
    assert_committed(store, &d, before).await;

    let k2 = create_key(store, &acct, &region, 2, &[]).await;
    let a = alias(&acct, &region, "alias/audited", k1.id(), 1);
    let d = change("CreateAlias", 103, Some(k1.id()));
    let before = head(store, CHAIN).await;
    store
        .create_alias(&a, on_chain(&d))
        .await
        .expect("create_alias");
    assert_committed(store, &d, before).await;

    let moved = alias(&acct, &region, "alias/audited", k2.id(), 2);
    let d = change("UpdateAlias", 104, Some(k2.id()));
    let before = head(store, CHAIN).await;
    store
        .update_alias(&moved, on_chain(&d))
        .await
        .expect("update_alias");
    assert_committed(store, &d, before).await;

    let d = change("TagResource", 105, Some(k1.id()));
    let before = head(store, CHAIN).await;
    store
        .put_tags(&k1.id(), &[tag("b", "2")], on_chain(&d))
        .await
        .expect("put_tags");
    assert_committed(store, &d, before).await;

    let d = change("UntagResource", 106, Some(k1.id()));
    let before = head(store, CHAIN).await;
    store
        .delete_tags(&k1.id(), &["a".to_owned()], on_chain(&d))
        .await
        .expect("delete_tags");
    assert_committed(store, &d, before).await;

    let d = change("DeleteAlias", 107, Some(k2.id()));
    let before = head(store, CHAIN).await;
    assert!(
        store
            .delete_alias(&acct, &region, &a.name, on_chain(&d))
            .await
            .expect("delete_alias"),
        "the alias existed"
    );
    assert_committed(store, &d, before).await;

    let g = grant_on(&k2);
    let d = change("CreateGrant", 108, Some(k2.id()));
    let before = head(store, CHAIN).await;
    store
        .create_grant(&g, on_chain(&d))
        .await
        .expect("create_grant");
    assert_committed(store, &d, before).await;
    let d = change("RevokeGrant", 109, Some(k2.id()));
    let before = head(store, CHAIN).await;
    assert!(
        store
            .delete_grant(&k2.id(), &g.grant_id, on_chain(&d))
            .await
            .expect("delete_grant"),
        "the grant existed"
    );
    assert_committed(store, &d, before).await;

    // The whole chain: the fixture key's event in the middle, every link intact.
    let chain = all_events(store, CHAIN, 100).await;
    assert_eq!(
        numbers(&chain),
        [101, 102, 0, 103, 104, 105, 106, 107, 108, 109]
    );
    assert_linked(&chain, CHAIN, 1, [0; 32]);
    // The changes themselves happened.
    assert_eq!(
        store
            .get_key(&acct, &region, &k1.id())
            .await
            .expect("get_key"),
        Some(k1_v2)
    );
    assert_eq!(
        store
            .list_tags(&k1.id(), None, 10)
            .await
            .expect("list_tags"),
        vec![tag("b", "2")]
    );
}

/// A mutation that fails leaves no event and does not move the chain head; the next successful
/// one takes the very next position.
pub async fn failed_mutations_leave_no_event(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();

    // On a chain that has no event yet, a failure does not create a head either.
    let mut missing = key(&acct, &region, 9);
    missing.version = 2;
    let d = change("EnableKey", 200, Some(missing.id()));
    let result = store.update_key(&missing, on_chain(&d)).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "updating a missing key is a Conflict, got {result:?}"
    );
    assert_not_committed(store, &d, (0, [0; 32])).await;

    let k1 = create_key(store, &acct, &region, 1, &[]).await;
    let k2 = create_key(store, &acct, &region, 2, &[]).await;
    let mut k1_v2 = k1.clone();
    k1_v2.description = "winner".to_owned();
    k1_v2.version = 2;
    store
        .update_key(&k1_v2, audit())
        .await
        .expect("the first writer wins");
    let taken = alias(&acct, &region, "alias/taken", k1.id(), 1);
    store
        .create_alias(&taken, audit())
        .await
        .expect("create_alias");
    let before = head(store, CHAIN).await;
    assert_eq!(before.0, 4, "two keys, one update, one alias");

    // update_key with a stale version.
    let mut stale = k1.clone();
    stale.description = "loser".to_owned();
    stale.version = 2;
    let d = change("UpdateKeyDescription", 201, Some(k1.id()));
    let result = store.update_key(&stale, on_chain(&d)).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "a stale version is a Conflict, got {result:?}"
    );
    assert_not_committed(store, &d, before).await;

    // create_alias on a taken name.
    let d = change("CreateAlias", 202, Some(k2.id()));
    let result = store
        .create_alias(
            &alias(&acct, &region, "alias/taken", k2.id(), 2),
            on_chain(&d),
        )
        .await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "a taken alias name is a Conflict, got {result:?}"
    );
    assert_not_committed(store, &d, before).await;

    // delete_alias of a missing alias: not an error, but nothing changed, so nothing to record.
    let d = change("DeleteAlias", 203, None);
    assert!(
        !store
            .delete_alias(&acct, &region, &alias_name("alias/missing"), on_chain(&d))
            .await
            .expect("delete_alias"),
        "there was no such alias"
    );
    assert_not_committed(store, &d, before).await;

    // create_key with a taken id, and one that fails at its material.
    let d = change("CreateKey", 204, Some(k1.id()));
    let result = store
        .create_key(&key(&acct, &region, 1), &material(&k2), &[], on_chain(&d))
        .await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "a taken key id is a Conflict, got {result:?}"
    );
    assert_not_committed(store, &d, before).await;
    let d = change("CreateKey", 205, Some(key_id(3)));
    let result = store
        .create_key(
            &key(&acct, &region, 3),
            &material(&k1),
            &[tag("orphan", "yes")],
            on_chain(&d),
        )
        .await;
    assert!(result.is_err(), "a colliding material fails create_key");
    assert_not_committed(store, &d, before).await;

    // A grant on a key that does not exist, and the deletion of a grant that does not.
    let d = change("CreateGrant", 207, Some(key_id(8)));
    let result = store
        .create_grant(&grant_on(&key(&acct, &region, 8)), on_chain(&d))
        .await;
    assert!(result.is_err(), "a grant needs its key");
    assert_not_committed(store, &d, before).await;
    let d = change("RetireGrant", 208, Some(k1.id()));
    let existed = store
        .delete_grant(&k1.id(), &"ab".repeat(32), on_chain(&d))
        .await
        .expect("delete_grant");
    assert!(!existed, "there was no such grant");
    assert_not_committed(store, &d, before).await;

    // The next success takes the very next position, linked to the last committed event.
    let mut k1_v3 = k1_v2.clone();
    k1_v3.version = 3;
    let d = change("EnableKey", 206, Some(k1.id()));
    store
        .update_key(&k1_v3, on_chain(&d))
        .await
        .expect("update_key");
    assert_committed(store, &d, before).await;
    let chain = all_events(store, CHAIN, 100).await;
    assert_eq!(chain.len(), 5);
    assert_linked(&chain, CHAIN, 1, [0; 32]);
}

/// 16 tasks append 50 events each, one per call, to one chain at once, while other tasks update
/// keys on the same chain (two of them racing on the same key): the chain ends up gapless and
/// linked, holding every appended event and every successful update's event exactly once and no
/// failed update's.
pub async fn concurrent_appends_and_mutations_keep_the_chain_gapless(backend: &Backend) {
    const TASKS: u32 = 16;
    const PER_TASK: u32 = 50;
    const UPDATERS: u8 = 4;
    const UPDATES: u32 = 25;

    let db = backend.open().await;
    let store: Arc<dyn Store> = db.store.clone();
    let acct = create_account(&*store, 1).await;
    let region = us_east_1();
    let mut keys = Vec::new();
    for n in 1..=UPDATERS {
        keys.push(create_key(&*store, &acct, &region, n, &[]).await);
    }
    let contested = create_key(&*store, &acct, &region, 99, &[]).await;

    let mut appenders = tokio::task::JoinSet::new();
    for t in 0..TASKS {
        let store = store.clone();
        appenders.spawn(async move {
            let mut mine = Vec::new();
            for i in 0..PER_TASK {
                let d = draft("Encrypt", 10_000 + t * 1_000 + i);
                let got = store
                    .append_audit(CHAIN, std::slice::from_ref(&d))
                    .await
                    .expect("a concurrent append");
                assert_eq!(got.len(), 1);
                mine.extend(got);
            }
            mine
        });
    }
    // Each updater owns one key; two more race on `contested` and retry on Conflict. Each
    // returns the event ids of its updates that won and that lost, and whether it raced.
    let mut updaters = tokio::task::JoinSet::new();
    for (u, k) in (0u32..).zip(keys.iter().cloned()) {
        let store = store.clone();
        updaters.spawn(async move {
            let mut current = k;
            let mut won = Vec::new();
            for i in 0..UPDATES {
                let mut next = current.clone();
                next.description = format!("update {i}");
                next.version += 1;
                let d = change(
                    "UpdateKeyDescription",
                    100_000 + u * 1_000 + i,
                    Some(next.id()),
                );
                store
                    .update_key(&next, on_chain(&d))
                    .await
                    .expect("an uncontested update");
                won.push(d.event_id);
                current = next;
            }
            (won, Vec::new(), false)
        });
    }
    for u in 0..2u32 {
        let store = store.clone();
        let (acct, region, id) = (acct.clone(), region.clone(), contested.id());
        updaters.spawn(async move {
            let (mut won, mut lost) = (Vec::new(), Vec::new());
            for i in 0..UPDATES {
                let current = store
                    .get_key(&acct, &region, &id)
                    .await
                    .expect("get_key")
                    .expect("the contested key");
                let mut next = current;
                next.description = format!("racer {u} attempt {i}");
                next.version += 1;
                let d = change("UpdateKeyDescription", 200_000 + u * 1_000 + i, Some(id));
                match store.update_key(&next, on_chain(&d)).await {
                    Ok(()) => won.push(d.event_id),
                    Err(StoreError::Conflict(_)) => lost.push(d.event_id),
                    Err(e) => panic!("a racing update failed otherwise: {e}"),
                }
                tokio::task::yield_now().await;
            }
            (won, lost, true)
        });
    }

    let mut appended: Vec<AuditEvent> = Vec::new();
    while let Some(done) = appenders.join_next().await {
        let mine = done.expect("an appender task");
        assert!(
            mine.windows(2).all(|w| w[0].seq < w[1].seq),
            "one task's appends take increasing positions"
        );
        appended.extend(mine);
    }
    let (mut won, mut lost) = (Vec::new(), Vec::new());
    let mut contested_wins = 0;
    while let Some(done) = updaters.join_next().await {
        let (w, l, raced) = done.expect("an updater task");
        if raced {
            contested_wins += w.len();
        }
        won.extend(w);
        lost.extend(l);
    }

    let chain = all_events(&*store, CHAIN, 97).await;
    let creates = usize::from(UPDATERS) + 1;
    let expected_len = creates + appended.len() + won.len();
    assert_eq!(
        appended.len(),
        usize::try_from(TASKS * PER_TASK).expect("small")
    );
    assert_eq!(
        chain.len(),
        expected_len,
        "{creates} creates, {} appends and {} successful updates ({} lost a race)",
        appended.len(),
        won.len(),
        lost.len()
    );
    assert_linked(&chain, CHAIN, 1, [0; 32]);
    let last = chain.last().expect("a long chain");
    assert_eq!(head(&*store, CHAIN).await, (last.seq, last.hash));

    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &chain {
        *seen.entry(e.draft.event_id.as_str()).or_default() += 1;
    }
    let by_seq: BTreeMap<i64, &AuditEvent> = chain.iter().map(|e| (e.seq, e)).collect();
    for e in &appended {
        assert_eq!(
            by_seq.get(&e.seq),
            Some(&e),
            "an append's returned event is what the chain holds at its position"
        );
        assert_eq!(seen.get(e.draft.event_id.as_str()), Some(&1));
    }
    for id in &won {
        assert_eq!(
            seen.get(id.as_str()),
            Some(&1),
            "a successful update's event is there exactly once"
        );
    }
    for id in &lost {
        assert_eq!(
            seen.get(id.as_str()),
            None,
            "an update that lost its race left no event"
        );
    }
    // The contested key's stored version counts exactly the updates that won.
    let stored = store
        .get_key(&acct, &region, &contested.id())
        .await
        .expect("get_key")
        .expect("the contested key");
    assert_eq!(
        stored.version,
        1 + i64::try_from(contested_wins).expect("small")
    );
    // Every lost attempt lost to a win of the other racer inside its read-to-write window, so
    // at least half of the attempts won.
    assert!(contested_wins >= usize::try_from(UPDATES).expect("small"));
    drop(store);
    db.close().await;
}

/// A query fixture: one event on a chain with the fields the filters look at.
struct Row {
    n: u32,
    chain: &'static str,
    name: &'static str,
    /// Seconds after the base time (equal values tie).
    t: i64,
    key: Option<u8>,
    principal: Option<&'static str>,
    access_key: Option<&'static str>,
    account: Option<u8>,
    error: Option<&'static str>,
    read_only: bool,
}

const BASE: i64 = 1_767_225_600_000;

fn at(t: i64) -> UnixMillis {
    UnixMillis(BASE + t * 1_000)
}

const P1: &str = "arn:aws:iam::111122223331:user/alice";
const P2: &str = "arn:aws:iam::111122223331:user/bob";
const P3: &str = "arn:aws:iam::111122223332:root";

/// Ten events on two chains, with ties on time across and within chains. Newest first they are
/// 10, 9 (t6, node-a seq 7 then 6), 8, 7 (t5: node-b before node-a), 6, 4, 5, 3, 2, 1.
#[rustfmt::skip]
const ROWS: &[Row] = &[
    Row { n: 1, chain: NODE_A, name: "Encrypt", t: 1, key: Some(1), principal: Some(P1), access_key: Some("AKIAONE"), account: Some(1), error: None, read_only: true },
    Row { n: 2, chain: NODE_A, name: "Decrypt", t: 2, key: Some(1), principal: Some(P2), access_key: Some("AKIATWO"), account: Some(1), error: Some("AccessDeniedException"), read_only: true },
    Row { n: 3, chain: NODE_B, name: "CreateKey", t: 2, key: Some(2), principal: Some(P1), access_key: Some("AKIAONE"), account: Some(1), error: None, read_only: false },
    Row { n: 4, chain: NODE_B, name: "Encrypt", t: 3, key: Some(2), principal: Some(P3), access_key: Some("AKIATHREE"), account: Some(2), error: Some("NotFoundException"), read_only: true },
    Row { n: 5, chain: NODE_A, name: "Encrypt", t: 3, key: Some(2), principal: Some(P1), access_key: Some("AKIAONE"), account: Some(1), error: None, read_only: true },
    Row { n: 6, chain: NODE_A, name: "ListKeys", t: 4, key: None, principal: Some(P2), access_key: Some("AKIATWO"), account: Some(1), error: None, read_only: true },
    Row { n: 7, chain: NODE_A, name: "Encrypt", t: 5, key: None, principal: None, access_key: Some("AKIAUNKNOWN"), account: None, error: Some("UnrecognizedClientException"), read_only: true },
    Row { n: 8, chain: NODE_B, name: "DisableKey", t: 5, key: Some(1), principal: Some(P1), access_key: Some("AKIAONE"), account: Some(1), error: None, read_only: false },
    Row { n: 9, chain: NODE_A, name: "GenerateDataKey", t: 6, key: Some(1), principal: Some(P1), access_key: Some("AKIAONE"), account: Some(1), error: None, read_only: true },
    Row { n: 10, chain: NODE_A, name: "Decrypt", t: 6, key: Some(1), principal: Some(P1), access_key: Some("AKIAONE"), account: Some(1), error: None, read_only: true },
];

fn row_draft(r: &Row) -> AuditDraft {
    AuditDraft {
        time: at(r.t),
        read_only: r.read_only,
        account: r.account.map(account),
        principal_arn: r.principal.map(str::to_owned),
        access_key_id: r.access_key.map(str::to_owned),
        key_id: r.key.map(key_id),
        error_code: r.error.map(str::to_owned),
        ..draft(r.name, r.n)
    }
}

/// Appends [`ROWS`] in order (one call per row) and returns the stored events by number.
async fn append_rows(store: &dyn Store) -> BTreeMap<u32, AuditEvent> {
    let mut out = BTreeMap::new();
    for r in ROWS {
        let events = store
            .append_audit(r.chain, &[row_draft(r)])
            .await
            .expect("append");
        for e in events {
            out.insert(number(&e), e);
        }
    }
    out
}

async fn query(
    store: &dyn Store,
    filter: AuditFilter,
    before: Option<&AuditCursor>,
    limit: usize,
) -> Vec<AuditEvent> {
    store
        .query_audit(&filter, before, limit)
        .await
        .expect("query_audit")
}

fn cursor(e: &AuditEvent) -> AuditCursor {
    (e.draft.time.0, e.chain.clone(), e.seq)
}

/// Appends [`ROWS`] with every row of a chain in one batch (one group commit per chain), so that
/// a batch holds events that match a filter and events that do not.
async fn append_rows_batched(store: &dyn Store) -> BTreeMap<u32, AuditEvent> {
    let mut out = BTreeMap::new();
    for chain in [NODE_A, NODE_B] {
        let drafts: Vec<AuditDraft> = ROWS
            .iter()
            .filter(|r| r.chain == chain)
            .map(row_draft)
            .collect();
        let events = store.append_audit(chain, &drafts).await.expect("append");
        for e in events {
            out.insert(number(&e), e);
        }
    }
    out
}

/// Every filter of query_audit, alone and combined; results newest first (time, then chain,
/// then seq, all descending) and whole.
pub async fn query_audit_filters_newest_first(store: &dyn Store) {
    let stored = append_rows(store).await;
    check_filters(store, &stored).await;
}

/// The same, with the events of each chain appended in one batch.
pub async fn query_audit_filters_inside_batches(store: &dyn Store) {
    let stored = append_rows_batched(store).await;
    check_filters(store, &stored).await;
}

async fn check_filters(store: &dyn Store, stored: &BTreeMap<u32, AuditEvent>) {
    let f = AuditFilter::default;
    let cases: Vec<(&str, AuditFilter, Vec<u32>)> = vec![
        ("no filter", f(), vec![10, 9, 8, 7, 6, 4, 5, 3, 2, 1]),
        (
            "from (inclusive)",
            AuditFilter {
                from: Some(at(3)),
                ..f()
            },
            vec![10, 9, 8, 7, 6, 4, 5],
        ),
        (
            "to (inclusive)",
            AuditFilter {
                to: Some(at(3)),
                ..f()
            },
            vec![4, 5, 3, 2, 1],
        ),
        (
            "from and to",
            AuditFilter {
                from: Some(at(2)),
                to: Some(at(4)),
                ..f()
            },
            vec![6, 4, 5, 3, 2],
        ),
        (
            "an empty range",
            AuditFilter {
                from: Some(UnixMillis(at(4).0 + 1)),
                to: Some(UnixMillis(at(5).0 - 1)),
                ..f()
            },
            vec![],
        ),
        (
            "key 1",
            AuditFilter {
                key_id: Some(key_id(1)),
                ..f()
            },
            vec![10, 9, 8, 2, 1],
        ),
        (
            "key 2",
            AuditFilter {
                key_id: Some(key_id(2)),
                ..f()
            },
            vec![4, 5, 3],
        ),
        (
            "an unknown key",
            AuditFilter {
                key_id: Some(key_id(3)),
                ..f()
            },
            vec![],
        ),
        (
            "principal",
            AuditFilter {
                principal_arn: Some(P1.to_owned()),
                ..f()
            },
            vec![10, 9, 8, 5, 3, 1],
        ),
        (
            "access key",
            AuditFilter {
                access_key_id: Some("AKIATWO".to_owned()),
                ..f()
            },
            vec![6, 2],
        ),
        (
            "an access key of an unauthenticated request",
            AuditFilter {
                access_key_id: Some("AKIAUNKNOWN".to_owned()),
                ..f()
            },
            vec![7],
        ),
        (
            "event name",
            AuditFilter {
                event_name: Some("Encrypt".to_owned()),
                ..f()
            },
            vec![7, 4, 5, 1],
        ),
        (
            "event id",
            AuditFilter {
                event_id: Some(draft("ListKeys", 6).event_id),
                ..f()
            },
            vec![6],
        ),
        (
            "event id and its own name",
            AuditFilter {
                event_id: Some(draft("ListKeys", 6).event_id),
                event_name: Some("ListKeys".to_owned()),
                ..f()
            },
            vec![6],
        ),
        (
            "event id and another name",
            AuditFilter {
                event_id: Some(draft("ListKeys", 6).event_id),
                event_name: Some("Encrypt".to_owned()),
                ..f()
            },
            vec![],
        ),
        (
            "event id after its time",
            AuditFilter {
                event_id: Some(draft("ListKeys", 6).event_id),
                from: Some(at(5)),
                ..f()
            },
            vec![],
        ),
        (
            "an unknown event id",
            AuditFilter {
                event_id: Some("no-such-event".to_owned()),
                ..f()
            },
            vec![],
        ),
        (
            "failed",
            AuditFilter {
                failed: Some(true),
                ..f()
            },
            vec![7, 4, 2],
        ),
        (
            "succeeded",
            AuditFilter {
                failed: Some(false),
                ..f()
            },
            vec![10, 9, 8, 6, 5, 3, 1],
        ),
        (
            "read-only",
            AuditFilter {
                read_only: Some(true),
                ..f()
            },
            vec![10, 9, 7, 6, 4, 5, 2, 1],
        ),
        (
            "not read-only",
            AuditFilter {
                read_only: Some(false),
                ..f()
            },
            vec![8, 3],
        ),
        (
            "account 2",
            AuditFilter {
                account: Some(account(2)),
                ..f()
            },
            vec![4],
        ),
        (
            "account 1",
            AuditFilter {
                account: Some(account(1)),
                ..f()
            },
            vec![10, 9, 8, 6, 5, 3, 2, 1],
        ),
        (
            "key, name and success together",
            AuditFilter {
                key_id: Some(key_id(1)),
                event_name: Some("Encrypt".to_owned()),
                failed: Some(false),
                ..f()
            },
            vec![1],
        ),
        (
            "name and failure together",
            AuditFilter {
                event_name: Some("Encrypt".to_owned()),
                failed: Some(true),
                ..f()
            },
            vec![7, 4],
        ),
        (
            "event source",
            AuditFilter {
                event_source: Some("kms.amazonaws.com".to_owned()),
                ..f()
            },
            vec![10, 9, 8, 7, 6, 4, 5, 3, 2, 1],
        ),
        (
            "an unknown event source",
            AuditFilter {
                event_source: Some("iam.amazonaws.com".to_owned()),
                ..f()
            },
            vec![],
        ),
        (
            "user name",
            AuditFilter {
                user_name: Some("bob".to_owned()),
                ..f()
            },
            vec![6, 2],
        ),
        (
            "the root user's name",
            AuditFilter {
                user_name: Some("root".to_owned()),
                ..f()
            },
            vec![4],
        ),
        (
            "a user name that is only part of a principal",
            AuditFilter {
                user_name: Some("user".to_owned()),
                ..f()
            },
            vec![],
        ),
        (
            "events naming a key",
            AuditFilter {
                names_a_key: true,
                ..f()
            },
            vec![10, 9, 8, 4, 5, 3, 2, 1],
        ),
        (
            "user name, key and time together",
            AuditFilter {
                user_name: Some("alice".to_owned()),
                key_id: Some(key_id(1)),
                from: Some(at(2)),
                ..f()
            },
            vec![10, 9, 8],
        ),
        (
            "principal, time range and read-only together",
            AuditFilter {
                principal_arn: Some(P1.to_owned()),
                from: Some(at(2)),
                to: Some(at(5)),
                read_only: Some(false),
                ..f()
            },
            vec![8, 3],
        ),
    ];
    for (what, filter, expected) in cases {
        let got = query(store, filter, None, 100).await;
        assert_eq!(numbers(&got), expected, "query_audit: {what}");
        for e in &got {
            assert_eq!(
                Some(e),
                stored.get(&number(e)),
                "query_audit: {what}: whole events"
            );
        }
    }
    assert_eq!(
        numbers(&query(store, f(), None, 3).await),
        [10, 9, 8],
        "at most `limit`"
    );
    assert_eq!(query(store, f(), None, 0).await, vec![]);
}

/// Paging newest first with the (time, chain, seq) cursor: every event exactly once, in order,
/// ties on time broken by chain then seq, with and without a filter.
pub async fn query_audit_pages_with_the_cursor(store: &dyn Store) {
    let stored = append_rows(store).await;
    let all = query(store, AuditFilter::default(), None, 100).await;
    for page_size in [1, 2, 3, 4, 10] {
        let mut seen: Vec<AuditEvent> = Vec::new();
        let mut pages = 0;
        loop {
            let before = seen.last().map(cursor);
            let page = query(store, AuditFilter::default(), before.as_ref(), page_size).await;
            assert!(page.len() <= page_size);
            if page.is_empty() {
                break;
            }
            pages += 1;
            assert!(pages <= 10, "paging with size {page_size} does not end");
            seen.extend(page);
        }
        assert_eq!(
            seen, all,
            "pages of {page_size} give every event once, newest first"
        );
    }

    let cursor_of = |n: u32| cursor(stored.get(&n).expect("a stored row"));
    let f = AuditFilter::default;
    assert_eq!(
        numbers(&query(store, f(), Some(&cursor_of(8)), 2).await),
        [7, 6],
        "after node-b at t5 comes node-a at t5"
    );
    assert_eq!(
        numbers(&query(store, f(), Some(&cursor_of(10)), 1).await),
        [9],
        "after seq 7 at t6 comes seq 6 at t6 on the same chain"
    );
    assert_eq!(
        numbers(&query(store, f(), Some(&cursor_of(1)), 10).await),
        Vec::<u32>::new(),
        "nothing older than the oldest"
    );
    // A cursor that names no stored event: everything strictly older in (time, chain, seq).
    assert_eq!(
        numbers(&query(store, f(), Some(&(at(5).0, "node-aa".to_owned(), 1)), 2).await),
        [7, 6]
    );
    assert_eq!(
        numbers(&query(store, f(), Some(&(at(3).0 + 1, String::new(), 0)), 10).await),
        [4, 5, 3, 2, 1]
    );

    // Paging a filtered query.
    let filter = AuditFilter {
        key_id: Some(key_id(1)),
        ..f()
    };
    let p1 = query(store, filter.clone(), None, 2).await;
    assert_eq!(numbers(&p1), [10, 9]);
    let p2 = query(store, filter.clone(), p1.last().map(cursor).as_ref(), 2).await;
    assert_eq!(numbers(&p2), [8, 2]);
    let p3 = query(store, filter.clone(), p2.last().map(cursor).as_ref(), 2).await;
    assert_eq!(numbers(&p3), [1]);
    let p4 = query(store, filter, p3.last().map(cursor).as_ref(), 2).await;
    assert_eq!(p4, vec![]);
}

/// A digest of `chain` over `first..=last`, made at `time`, with a signature that names it.
fn digest(chain: &str, first: i64, last: i64, time: i64) -> AuditDigest {
    AuditDigest {
        chain: chain.to_owned(),
        first_seq: first,
        last_seq: last,
        last_hash: [u8::try_from(last % 256).expect("a byte"); 32],
        time: UnixMillis(time),
        prev_signature: if first == 1 {
            Vec::new()
        } else {
            format!("sig {chain} {}", first - 1).into_bytes()
        },
        prune_anchor: false,
        signature: format!("sig {chain} {last}").into_bytes(),
    }
}

/// put_digest stores digests whole; list_digests returns one chain's, oldest first, whatever
/// the order they were stored in; a second digest of the same chain position is a Conflict
/// and leaves the first.
pub async fn digests_list_oldest_first_and_reject_duplicates(store: &dyn Store) {
    assert_eq!(
        store.list_digests(NODE_A).await.expect("list_digests"),
        vec![]
    );
    let d1 = digest(NODE_A, 1, 3, 100);
    let d2 = digest(NODE_A, 4, 9, 200);
    let d3 = digest(NODE_A, 10, 12, 300);
    let other = digest(NODE_B, 1, 5, 150);
    for d in [&d3, &other, &d1, &d2] {
        store.put_digest(d).await.expect("put_digest");
    }
    assert_eq!(
        store.list_digests(NODE_A).await.expect("list_digests"),
        vec![d1.clone(), d2.clone(), d3.clone()]
    );
    assert_eq!(
        store.list_digests(NODE_B).await.expect("list_digests"),
        vec![other]
    );
    assert_eq!(
        store.list_digests("node-c").await.expect("list_digests"),
        vec![]
    );

    let result = store.put_digest(&d2).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "the same digest twice is a Conflict, got {result:?}"
    );
    let mut rival = digest(NODE_A, 4, 9, 250);
    rival.last_hash = [0xee; 32];
    rival.signature = b"another signature".to_vec();
    let result = store.put_digest(&rival).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "a second digest ending at the same position is a Conflict, got {result:?}"
    );
    assert_eq!(
        store.list_digests(NODE_A).await.expect("list_digests"),
        vec![d1, d2, d3],
        "the duplicates changed nothing"
    );
}

/// prune_audit deletes the chain's events up to the anchor and stores the anchor, together;
/// the head, later events, other chains and earlier digests stay; the chain continues from its
/// head. An anchor that cannot be stored deletes nothing.
pub async fn prune_audit_deletes_up_to_the_anchor_and_stores_it(store: &dyn Store) {
    let drafts: Vec<AuditDraft> = (1..=10).map(|n| draft("Encrypt", n)).collect();
    let events = store.append_audit(NODE_A, &drafts).await.expect("append");
    let other = store
        .append_audit(NODE_B, &drafts[..3])
        .await
        .expect("append");
    let sealed = digest(NODE_A, 1, 6, 100);
    store.put_digest(&sealed).await.expect("put_digest");
    let head_before = head(store, NODE_A).await;

    let fourth = events.get(3).expect("ten events");
    let anchor = AuditDigest {
        chain: NODE_A.to_owned(),
        first_seq: 1,
        last_seq: 4,
        last_hash: fourth.hash,
        time: UnixMillis(200),
        prev_signature: sealed.signature.clone(),
        prune_anchor: true,
        signature: b"anchor signature".to_vec(),
    };
    assert_eq!(
        store.prune_audit(&anchor).await.expect("prune_audit"),
        4,
        "four events went"
    );
    assert_eq!(
        all_events(store, NODE_A, 100).await,
        events.get(4..).expect("ten events").to_vec(),
        "events 5..=10 stay, unchanged"
    );
    assert_eq!(
        numbers(&query(store, AuditFilter::default(), None, 100).await)
            .iter()
            .filter(|n| **n <= 4)
            .count(),
        3,
        "only node-b's events 1..=3 are left of numbers 1..=4"
    );
    assert_eq!(all_events(store, NODE_B, 100).await, other);
    let digests = store.list_digests(NODE_A).await.expect("list_digests");
    assert_eq!(digests.len(), 2, "the sealed digest and the anchor");
    assert!(digests.contains(&sealed), "the earlier digest stays");
    assert!(digests.contains(&anchor), "the anchor is stored whole");
    assert_eq!(
        head(store, NODE_A).await,
        head_before,
        "pruning keeps the head"
    );

    // The chain goes on from its head, not from what is left.
    let next = store
        .append_audit(NODE_A, &[draft("Decrypt", 11)])
        .await
        .expect("append after pruning");
    assert_linked(&next, NODE_A, 11, head_before.1);

    // An anchor that cannot be stored (the same one again, now ending at 7) deletes nothing.
    let mut at_seven = anchor.clone();
    at_seven.last_seq = 7;
    store
        .put_digest(&at_seven)
        .await
        .expect("put an anchor-shaped digest");
    let result = store.prune_audit(&at_seven).await;
    assert!(
        result.is_err(),
        "a duplicate anchor fails prune_audit, got {result:?}"
    );
    assert_eq!(
        numbers(&all_events(store, NODE_A, 100).await),
        [5, 6, 7, 8, 9, 10, 11],
        "the failed prune deleted nothing"
    );

    // Pruning where nothing is left to delete stores the anchor and deletes none.
    let mut again = anchor.clone();
    again.last_seq = 3;
    again.signature = b"late anchor".to_vec();
    assert_eq!(store.prune_audit(&again).await.expect("prune_audit"), 0);
    assert!(
        store
            .list_digests(NODE_A)
            .await
            .expect("list_digests")
            .contains(&again)
    );
    assert_eq!(all_events(store, NODE_A, 100).await.len(), 7);
}

/// An event about `key` named `name` at second `t`, numbered `n`, failed with `error` if any.
fn use_of(key: u8, name: &str, n: u32, t: i64, error: Option<&str>) -> AuditDraft {
    AuditDraft {
        time: at(t),
        read_only: true,
        key_id: Some(key_id(key)),
        error_code: error.map(str::to_owned),
        ..draft(name, n)
    }
}

/// key_last_usage is the newest successful cryptographic event of the key, across chains: not
/// a newer failed one, not a newer non-cryptographic one, not another key's.
pub async fn key_last_usage_is_the_newest_successful_cryptographic_event(store: &dyn Store) {
    assert_eq!(
        store
            .key_last_usage(&key_id(1))
            .await
            .expect("key_last_usage"),
        None,
        "a key without events was never used"
    );
    store
        .append_audit(
            NODE_A,
            &[
                use_of(1, "Encrypt", 1, 1, None),
                use_of(1, "Decrypt", 2, 3, None),
                use_of(1, "GenerateDataKey", 3, 4, Some("DisabledException")),
                use_of(1, "DescribeKey", 4, 5, None),
                use_of(1, "TagResource", 5, 6, None),
                use_of(2, "Encrypt", 6, 7, None),
                use_of(3, "Decrypt", 7, 8, Some("InvalidCiphertextException")),
                use_of(3, "DescribeKey", 8, 9, None),
            ],
        )
        .await
        .expect("append");
    let expected = |name: &str, n: u32, t: i64| {
        let d = draft(name, n);
        Some(KeyLastUsage {
            operation: name.to_owned(),
            time: at(t),
            event_id: d.event_id,
            request_id: d.request_id,
        })
    };
    assert_eq!(
        store
            .key_last_usage(&key_id(1))
            .await
            .expect("key_last_usage"),
        expected("Decrypt", 2, 3),
        "the newer failure and the newer non-cryptographic events do not count"
    );
    assert_eq!(
        store
            .key_last_usage(&key_id(2))
            .await
            .expect("key_last_usage"),
        expected("Encrypt", 6, 7)
    );
    assert_eq!(
        store
            .key_last_usage(&key_id(3))
            .await
            .expect("key_last_usage"),
        None,
        "only a failure and a DescribeKey: never used"
    );

    // A newer use recorded by another node counts.
    store
        .append_audit(NODE_B, &[use_of(1, "ReEncrypt", 9, 4, None)])
        .await
        .expect("append");
    assert_eq!(
        store
            .key_last_usage(&key_id(1))
            .await
            .expect("key_last_usage"),
        expected("ReEncrypt", 9, 4)
    );
    // An older use appended later does not.
    store
        .append_audit(NODE_A, &[use_of(1, "Encrypt", 10, 2, None)])
        .await
        .expect("append");
    assert_eq!(
        store
            .key_last_usage(&key_id(1))
            .await
            .expect("key_last_usage"),
        expected("ReEncrypt", 9, 4)
    );
}

/// key_usage_counts counts a key's successful cryptographic events per operation, across
/// chains; failures, non-cryptographic events and other keys' events do not count.
pub async fn key_usage_counts_count_successes_per_operation(store: &dyn Store) {
    assert_eq!(
        store
            .key_usage_counts(&key_id(1))
            .await
            .expect("key_usage_counts"),
        vec![]
    );
    store
        .append_audit(
            NODE_A,
            &[
                use_of(1, "Encrypt", 1, 1, None),
                use_of(1, "Encrypt", 2, 2, None),
                use_of(1, "Decrypt", 3, 3, None),
                use_of(1, "Decrypt", 4, 4, Some("InvalidCiphertextException")),
                use_of(1, "GenerateDataKey", 5, 5, Some("DisabledException")),
                use_of(1, "DescribeKey", 6, 6, None),
                use_of(2, "Encrypt", 7, 7, None),
            ],
        )
        .await
        .expect("append");
    store
        .append_audit(
            NODE_B,
            &[
                use_of(1, "Encrypt", 8, 8, None),
                use_of(1, "GenerateDataKeyWithoutPlaintext", 9, 9, None),
            ],
        )
        .await
        .expect("append");
    let sorted = |mut v: Vec<(String, u64)>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(
            store
                .key_usage_counts(&key_id(1))
                .await
                .expect("key_usage_counts")
        ),
        vec![
            ("Decrypt".to_owned(), 1),
            ("Encrypt".to_owned(), 3),
            ("GenerateDataKeyWithoutPlaintext".to_owned(), 1),
        ]
    );
    assert_eq!(
        store
            .key_usage_counts(&key_id(2))
            .await
            .expect("key_usage_counts"),
        vec![("Encrypt".to_owned(), 1)]
    );
    assert_eq!(
        store
            .key_usage_counts(&key_id(3))
            .await
            .expect("key_usage_counts"),
        vec![]
    );
}

/// Events (appended and committed with a mutation), chain heads and digests survive close and
/// reopen; the chain then continues where it was.
pub async fn audit_trail_survives_close_and_reopen(backend: &Backend) {
    let db = backend.open().await;
    let store = &*db.store;
    let acct: AccountId = create_account(store, 1).await;
    let k: Key = create_key(store, &acct, &us_east_1(), 1, &[]).await;
    let a = store
        .append_audit(CHAIN, &[draft("Encrypt", 1), draft("Decrypt", 2)])
        .await
        .expect("append");
    let b = store
        .append_audit(NODE_B, &[draft("Encrypt", 3)])
        .await
        .expect("append");
    let mut k2 = k.clone();
    k2.version = 2;
    let d = change("DisableKey", 4, Some(k.id()));
    store.update_key(&k2, on_chain(&d)).await.expect("update");
    let sealed = digest(CHAIN, 1, 4, 500);
    store.put_digest(&sealed).await.expect("put_digest");
    let chain = all_events(store, CHAIN, 100).await;
    assert_eq!(numbers(&chain), [0, 1, 2, 4]);
    assert_eq!(a.as_slice(), chain.get(1..3).expect("four events"));
    let mut heads = store.audit_chains().await.expect("audit_chains");
    heads.sort_by(|x, y| x.chain.cmp(&y.chain));
    db.close().await;

    let db = backend.open().await;
    let store = &*db.store;
    assert_eq!(all_events(store, CHAIN, 100).await, chain);
    assert_eq!(all_events(store, NODE_B, 100).await, b);
    let mut reopened = store.audit_chains().await.expect("audit_chains");
    reopened.sort_by(|x, y| x.chain.cmp(&y.chain));
    assert_eq!(reopened, heads);
    assert_eq!(
        store.list_digests(CHAIN).await.expect("list_digests"),
        vec![sealed]
    );
    assert_eq!(
        numbers(
            &query(
                store,
                AuditFilter {
                    key_id: Some(k.id()),
                    ..AuditFilter::default()
                },
                None,
                10
            )
            .await
        ),
        [4]
    );
    let next = store
        .append_audit(CHAIN, &[draft("Encrypt", 5)])
        .await
        .expect("append after reopening");
    assert_linked(&next, CHAIN, 5, chain.last().expect("four events").hash);
    db.close().await;
}

/// A grant of `key` for its account's root, allowing Encrypt.
fn grant_on(key: &kinko_core::Key) -> kinko_core::Grant {
    kinko_core::Grant {
        grant_id: "cd".repeat(32),
        key_arn: key.arn.clone(),
        name: None,
        grantee: kinko_core::GrantPrincipal::Aws(format!("arn:aws:iam::{}:root", key.arn.account)),
        retiring: None,
        operations: vec![kinko_core::GrantOperation::Encrypt],
        constraints: None,
        issuing_account: format!("arn:aws:iam::{}:root", key.arn.account),
        created_at: UnixMillis(1),
    }
}
