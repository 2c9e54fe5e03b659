//! Mixed load for the fault campaign, and the ledger of what the server acknowledged: keys
//! created, ciphertexts made, rotations turned on, grants made and IAM users created. Whatever a
//! worker got a success for is in the ledger; [`check`] proves each is still there.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kms::Client;
use aws_sdk_kms::config::retry::RetryConfig;
use aws_sdk_kms::config::timeout::TimeoutConfig;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::GrantOperation;

use crate::common::{Sealed, kinko, read_credentials, try_decrypt};
use crate::iam;

/// What the server acknowledged.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    pub keys: Vec<String>,
    pub sealed: Vec<Sealed>,
    pub rotating: Vec<String>,
    pub grants: Vec<(String, String)>,
    pub users: Vec<String>,
    /// The request id of every acknowledged request above.
    pub request_ids: Vec<String>,
}

impl Ledger {
    /// Everything acknowledged, counted.
    pub fn total(&self) -> usize {
        self.keys.len()
            + self.sealed.len()
            + self.rotating.len()
            + self.grants.len()
            + self.users.len()
    }

    /// What was added after `before`.
    pub fn since(&self, before: &Ledger) -> Ledger {
        Ledger {
            keys: self.keys[before.keys.len()..].to_vec(),
            sealed: self.sealed[before.sealed.len()..].to_vec(),
            rotating: self.rotating[before.rotating.len()..].to_vec(),
            grants: self.grants[before.grants.len()..].to_vec(),
            users: self.users[before.users.len()..].to_vec(),
            request_ids: self.request_ids[before.request_ids.len()..].to_vec(),
        }
    }

    /// One line of figures.
    pub fn figures(&self) -> String {
        format!(
            "keys={} ciphertexts={} rotations={} grants={} iam_users={}",
            self.keys.len(),
            self.sealed.len(),
            self.rotating.len(),
            self.grants.len(),
            self.users.len()
        )
    }
}

/// A server to load: its SDK client (no retries, short timeouts), address and credentials.
#[derive(Debug, Clone)]
pub struct Target {
    pub kms: Client,
    pub addr: SocketAddr,
    pub creds: iam::Credentials,
    pub account_root: String,
}

impl Target {
    /// The target for a server at `addr` with the data directory `data`.
    pub fn new(addr: SocketAddr, data: &std::path::Path, account: &str) -> Target {
        let creds = read_credentials(&data.join("credentials"));
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(&creds.0, &creds.1, None, None, "kinko"))
            .endpoint_url(format!("http://{addr}"))
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_timeout(Duration::from_secs(30))
                    .build(),
            )
            .build();
        Target {
            kms: Client::from_conf(conf),
            addr,
            creds,
            account_root: format!("arn:aws:iam::{account}:root"),
        }
    }
}

/// A small deterministic generator (xorshift), so a failing run can be repeated by its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Sends requests until one fails (the server was killed); records every success in `ledger`.
/// Returns the error that stopped it.
pub async fn worker(
    target: Target,
    ledger: Arc<Mutex<Ledger>>,
    mut rng: Rng,
    tag: String,
) -> String {
    let mut n = 0u64;
    loop {
        n += 1;
        if let Err(e) = one(&target, &ledger, &mut rng, &tag, n).await {
            return e;
        }
    }
}

/// Sends requests until `stop` is set, through failures; records every success in `ledger`.
/// Returns how many succeeded and the errors of those that failed.
pub async fn steady_worker(
    target: Target,
    ledger: Arc<Mutex<Ledger>>,
    mut rng: Rng,
    tag: String,
    stop: Arc<AtomicBool>,
) -> (u64, Vec<String>) {
    let (mut n, mut ok, mut errors) = (0u64, 0u64, Vec::new());
    while !stop.load(Ordering::Acquire) {
        n += 1;
        match one(&target, &ledger, &mut rng, &tag, n).await {
            Ok(()) => ok += 1,
            Err(e) => {
                errors.push(e);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    (ok, errors)
}

/// One request of the mix, recorded in `ledger` if it succeeds.
async fn one(
    target: &Target,
    ledger: &Mutex<Ledger>,
    rng: &mut Rng,
    tag: &str,
    n: u64,
) -> Result<(), String> {
    let key = {
        let l = ledger.lock().expect("the ledger");
        let i = usize::try_from(rng.below(l.keys.len() as u64)).unwrap_or(0);
        l.keys.get(i).cloned()
    };
    let Some(key) = key else {
        return Err("no key to work on".to_owned());
    };
    let kms = &target.kms;
    match rng.below(10) {
        0 | 1 => kms
            .create_key()
            .description(format!("fault {tag}"))
            .send()
            .await
            .map(|out| {
                let mut l = ledger.lock().expect("the ledger");
                l.request_ids.extend(out.request_id().map(str::to_owned));
                l.keys
                    .push(out.key_metadata.map(|m| m.key_id).unwrap_or_default());
            })
            .map_err(|e| format!("CreateKey: {e:?}")),
        2..=5 => {
            let plaintext = format!("{tag}-{n}").into_bytes();
            kms.encrypt()
                .key_id(&key)
                .plaintext(Blob::new(plaintext.clone()))
                .encryption_context("run", tag)
                .send()
                .await
                .map(|out| {
                    let request_id = out.request_id().map(str::to_owned);
                    let sealed = Sealed {
                        key_id: key.clone(),
                        context: vec![("run".to_owned(), tag.to_owned())],
                        plaintext,
                        ciphertext: out
                            .ciphertext_blob
                            .map(Blob::into_inner)
                            .unwrap_or_default(),
                    };
                    let mut l = ledger.lock().expect("the ledger");
                    l.request_ids.extend(request_id);
                    l.sealed.push(sealed);
                })
                .map_err(|e| format!("Encrypt: {e:?}"))
        }
        6 => kms
            .enable_key_rotation()
            .key_id(&key)
            .send()
            .await
            .map(|out| {
                let mut l = ledger.lock().expect("the ledger");
                l.request_ids.extend(out.request_id().map(str::to_owned));
                l.rotating.push(key.clone());
            })
            .map_err(|e| format!("EnableKeyRotation: {e:?}")),
        7 | 8 => kms
            .create_grant()
            .key_id(&key)
            .grantee_principal(&target.account_root)
            .operations(GrantOperation::Decrypt)
            .send()
            .await
            .map(|out| {
                let mut l = ledger.lock().expect("the ledger");
                l.request_ids.extend(out.request_id().map(str::to_owned));
                l.grants
                    .push((key.clone(), out.grant_id.unwrap_or_default()));
            })
            .map_err(|e| format!("CreateGrant: {e:?}")),
        _ => {
            let user = format!("fault-{tag}-{n}");
            iam::call(
                target.addr,
                &target.creds,
                &format!("Action=CreateUser&UserName={user}"),
            )
            .await
            .map(|body| {
                let mut l = ledger.lock().expect("the ledger");
                l.request_ids.extend(iam::request_id(&body));
                l.users.push(user);
            })
            .map_err(|e| format!("CreateUser: {e}"))
        }
    }
}

/// What [`check`] found missing (empty when everything acknowledged is there).
pub async fn check(target: &Target, ledger: &Ledger) -> Vec<String> {
    let kms = &target.kms;
    let mut missing = Vec::new();
    for key in &ledger.keys {
        if let Err(e) = kms.describe_key().key_id(key).send().await {
            missing.push(format!("key {key}: {e:?}"));
        }
    }
    for key in ledger.rotating.iter().collect::<BTreeSet<_>>() {
        match kms.get_key_rotation_status().key_id(key).send().await {
            Ok(out) if out.key_rotation_enabled => {}
            other => missing.push(format!("rotation of {key}: {other:?}")),
        }
    }
    let mut by_key: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (key, grant) in &ledger.grants {
        by_key.entry(key).or_default().insert(grant);
    }
    for (key, grants) in by_key {
        let mut found = BTreeSet::new();
        let mut pages = kms.list_grants().key_id(key).into_paginator().send();
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => found.extend(
                    page.grants
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|g| g.grant_id),
                ),
                Err(e) => {
                    missing.push(format!("grants of {key}: {e:?}"));
                    break;
                }
            }
        }
        for g in grants {
            if !found.contains(g) {
                missing.push(format!("grant {g} on {key}"));
            }
        }
    }
    for user in &ledger.users {
        if let Err(e) = iam::call(
            target.addr,
            &target.creds,
            &format!("Action=GetUser&UserName={user}"),
        )
        .await
        {
            missing.push(format!("user {user}: {e}"));
        }
    }
    for (i, sealed) in ledger.sealed.iter().enumerate() {
        match try_decrypt(kms, sealed).await {
            Ok(p) if p == sealed.plaintext => {}
            other => missing.push(format!(
                "ciphertext #{i} under {}: {other:?}",
                sealed.key_id
            )),
        }
    }
    missing
}

/// The request ids of every successful request in the trail (`kinko audit query`).
pub fn recorded_request_ids(data: &Path, extra: &[&str]) -> BTreeSet<String> {
    let mut args = vec![
        "audit",
        "query",
        "--data-dir",
        data.to_str().expect("UTF-8"),
        "--result",
        "success",
    ];
    args.extend_from_slice(extra);
    let out = kinko(&args, &[]).output().expect("run kinko audit query");
    assert!(
        out.status.success(),
        "kinko audit query: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|record| record["requestID"].as_str().map(str::to_owned))
        .collect()
}

/// Whether a worker's error is a server error (5xx), as every error of a fault must be.
pub fn is_server_error(e: &str) -> bool {
    [
        "KMSInternalException",
        "DependencyTimeoutException",
        "HTTP 500",
        "HTTP 503",
    ]
    .iter()
    .any(|code| e.contains(code))
}
