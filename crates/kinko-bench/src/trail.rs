//! `kinko-bench trail`: how fast LookupEvents answers over a long audit trail.
//!
//! For each store it starts Kinko (SQLite in a temporary data directory, or a throwaway
//! PostgreSQL database), generates a trail of `--events` CloudTrail-shaped events straight into
//! the store (through `kinko_store`, on a chain of its own, in batches as the group-commit writer
//! makes them: the server's own appends would take minutes for a million), then times signed
//! LookupEvents requests through the server: the first page of an unfiltered lookup, and for
//! every lookup attribute one value that matches nothing and one that matches. Each lookup runs
//! `--repeats` times; the median and the slowest are printed. The generator's own append rate
//! is printed too (events per second through `AuditStore::append_audit`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use kinko_core::{AccountId, AuditDraft, AuditStore, KeyId, UnixMillis};
use serde_json::{Value, json};

use crate::client::{self, Call, Credentials, Endpoint};
use crate::pgdb::BenchDatabase;
use crate::procs::{AuditSink, Kinko, Root};

/// The chain the generated events are appended to.
const CHAIN: &str = "bench-trail";
/// Events per append (the group-commit writer's largest batch).
const BATCH: usize = 512;
/// The generated trail spans this long, ending now.
const SPAN_MS: i64 = 10 * 24 * 3600 * 1000;
/// LookupEvents' target.
const LOOKUP: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";
/// Operations the trail holds, with whether each is read-only, in proportion (one in ten writes).
const OPERATIONS: &[(&str, bool)] = &[
    ("Encrypt", true),
    ("Decrypt", true),
    ("GenerateDataKey", true),
    ("Encrypt", true),
    ("Decrypt", true),
    ("GenerateDataKey", true),
    ("DescribeKey", true),
    ("Sign", true),
    ("Decrypt", true),
    ("TagResource", false),
];
/// Users (and their access keys) and keys the trail names.
const USERS: usize = 8;
const KEYS: usize = 32;

#[derive(Debug, Args)]
pub(crate) struct TrailArgs {
    /// The `kinko` binary to start.
    #[arg(long, value_name = "PATH")]
    kinko_bin: PathBuf,
    /// Events to generate.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Stores to measure: sqlite, postgres.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    stores: Vec<String>,
    /// Times each lookup is sent.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Quick check that the command still works: 5,000 events, 2 repeats.
    #[arg(long)]
    smoke: bool,
    /// SigV4 region the requests are signed for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// PostgreSQL server for `--stores postgres` (the bench creates and drops a database there).
    #[arg(
        long,
        value_name = "URL",
        env = "KINKO_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
}

pub(crate) async fn run(mut args: TrailArgs) -> Result<()> {
    if args.smoke {
        args.events = args.events.min(5_000);
        args.repeats = 2;
    }
    for store in args.stores.clone() {
        match store.as_str() {
            "sqlite" => measure(&args, None).await?,
            "postgres" => {
                let db = BenchDatabase::create(&args.postgres_url).await?;
                let measured = measure(&args, Some(&db.url)).await;
                db.drop_now().await?;
                measured?;
            }
            other => bail!("unknown store {other:?}: sqlite or postgres"),
        }
    }
    Ok(())
}

async fn measure(args: &TrailArgs, postgres: Option<&str>) -> Result<()> {
    let name = if postgres.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let mut extra = vec!["--node-id".to_owned(), "node-1".to_owned()];
    if let Some(url) = postgres {
        extra.extend(["--store".to_owned(), url.to_owned()]);
    }
    let kinko =
        Kinko::start_node(&args.kinko_bin, Root::File, AuditSink::Store, &extra, None).await?;
    let endpoint = kinko.endpoint().clone();
    let creds = kinko.credentials().clone();
    let created = client::call_ok(
        &endpoint,
        &creds,
        &args.region,
        &Call::new("TrentService.CreateKey", json!({}))?,
    )
    .await
    .context("CreateKey failed")?;
    let account = created
        .pointer("/KeyMetadata/AWSAccountId")
        .and_then(Value::as_str)
        .and_then(AccountId::parse)
        .context("CreateKey's answer has no AWSAccountId")?;

    let trail = Trail::new(account, &args.region);
    let started = Instant::now();
    match postgres {
        Some(url) => {
            let store = kinko_store::PgStore::open(url).await?;
            trail.append(&store, args.events).await?;
            store.close().await;
        }
        None => {
            // The server owns the journal; this second opener writes straight to the database.
            let db = kinko.data_dir().join("kinko.db");
            let store = kinko_store::SqliteStore::open(&db).await?;
            trail.append(&store, args.events).await?;
            store.close().await;
        }
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "trail [{name}]: {} events appended in {took:.1} s ({:.0} events/s, batches of {BATCH})",
        args.events,
        args.events as f64 / took
    );
    if let Some(url) = postgres {
        hourly_queries(url, &trail.account, trail.now, args.repeats).await?;
    }

    let lookups = trail.lookups(args.events);
    println!(
        "{:<44} {:>9} {:>9} {:>7}",
        format!("LookupEvents [{name}]"),
        "median ms",
        "max ms",
        "events"
    );
    for (label, attributes) in lookups {
        let mut body = json!({ "MaxResults": 50 });
        if let Some(a) = attributes {
            body["LookupAttributes"] = json!([a]);
        }
        let call = Call::cloudtrail(LOOKUP, body)?;
        let mut times = Vec::with_capacity(args.repeats);
        let mut found = 0;
        for _ in 0..args.repeats.max(1) {
            let (took, events) = timed_lookup(&endpoint, &creds, &args.region, &call).await?;
            times.push(took);
            found = events;
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{label:<44} {:>9.1} {:>9.1} {found:>7}",
            ms(times[(times.len() - 1) / 2]),
            ms(times[times.len() - 1])
        );
    }
    // The console's overview reads the last 24 hours of the same trail.
    let cookie = crate::console::sign_in(&endpoint, &creds).await?;
    let mut times = Vec::with_capacity(args.repeats);
    for _ in 0..args.repeats.max(1) {
        let (took, _) = crate::console::timed_page(&endpoint, &cookie, "/console/overview").await?;
        times.push(took);
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{:<44} {:>9.1} {:>9.1}",
        format!("console overview [{name}]"),
        ms(times[(times.len() - 1) / 2]),
        ms(times[times.len() - 1])
    );
    drop(kinko);
    Ok(())
}

/// The overview's hourly counts on PostgreSQL as SQL, timed alternately: counted from the
/// events (the query before schema v15) and summed from the `audit_hourly` roll-up.
async fn hourly_queries(url: &str, account: &AccountId, now: i64, repeats: usize) -> Result<()> {
    use sqlx::Connection as _;
    let mut conn = sqlx::postgres::PgConnection::connect(url).await?;
    let from = now - now.rem_euclid(3_600_000) - 23 * 3_600_000;
    let queries = [
        (
            "hourly counts from the events (before v15)",
            "SELECT event_time - (event_time % 3600000) AS hour, count(*) FROM audit_events \
             WHERE event_time >= $1 AND account = $2 GROUP BY hour ORDER BY hour",
        ),
        (
            "hourly counts from audit_hourly (v15)",
            "SELECT hour, sum(events)::BIGINT FROM audit_hourly \
             WHERE hour >= $1 AND account = $2 GROUP BY hour ORDER BY hour",
        ),
    ];
    let mut times = vec![Vec::new(); queries.len()];
    let mut totals = vec![0i64; queries.len()];
    for _ in 0..repeats.max(1) {
        for (i, (_, sql)) in queries.iter().enumerate() {
            let started = Instant::now();
            let rows: Vec<(i64, i64)> = sqlx::query_as(*sql)
                .bind(from)
                .bind(account.as_str())
                .fetch_all(&mut conn)
                .await?;
            times[i].push(started.elapsed());
            totals[i] = rows.iter().map(|(_, n)| n).sum();
        }
    }
    for ((label, _), (mut t, total)) in queries.iter().zip(times.into_iter().zip(totals)) {
        t.sort();
        println!(
            "{label:<44} {:>9.1} {:>9.1} {total:>7} events counted",
            t[(t.len() - 1) / 2].as_secs_f64() * 1000.0,
            t[t.len() - 1].as_secs_f64() * 1000.0
        );
    }
    let _ = conn.close().await;
    Ok(())
}

async fn timed_lookup(
    endpoint: &Endpoint,
    creds: &Credentials,
    region: &str,
    call: &Call,
) -> Result<(Duration, usize)> {
    let started = Instant::now();
    let answer = client::call_ok(endpoint, creds, region, call).await?;
    let took = started.elapsed();
    let events = answer
        .get("Events")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    Ok((took, events))
}

/// What the generated events name.
struct Trail {
    account: AccountId,
    region: String,
    keys: Vec<KeyId>,
    now: i64,
}

impl Trail {
    fn new(account: AccountId, region: &str) -> Trail {
        let keys = (0..KEYS)
            .filter_map(|k| KeyId::parse(&format!("{k:08x}-0000-4000-8000-00000000beef")))
            .collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Trail {
            account,
            region: region.to_owned(),
            keys,
            now,
        }
    }

    fn user(&self, n: usize) -> (String, String) {
        (
            format!("arn:aws:iam::{}:user/bench/user-{n}", self.account.as_str()),
            format!("AKIABENCHUSER{n:07}"),
        )
    }

    /// Event ids as the server makes them (UUID version 7: the time, then randomness; here a
    /// counter).
    fn event_id(time: i64, n: usize) -> String {
        let t = u64::try_from(time).unwrap_or(0);
        format!(
            "{:08x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
            t >> 16,
            t & 0xffff,
            (n >> 12) & 0xfff,
            n & 0xfff,
            n
        )
    }

    fn time(&self, n: usize, total: usize) -> i64 {
        self.now - SPAN_MS + (SPAN_MS * n as i64) / total.max(1) as i64
    }

    fn draft(&self, n: usize, total: usize) -> AuditDraft {
        let time = self.time(n, total);
        let (name, read_only) = OPERATIONS[n % OPERATIONS.len()];
        let (principal, access_key) = self.user((n / 7) % USERS);
        let key = self.keys[(n / 3) % self.keys.len()];
        let failed = n % 50 == 49;
        let event_id = Self::event_id(time, n);
        let request_id = format!("{:08x}-0000-4000-8000-{n:012x}", n);
        let arn = format!(
            "arn:aws:kms:{}:{}:key/{key}",
            self.region,
            self.account.as_str()
        );
        let mut record = json!({
            "eventVersion": "1.11",
            "userIdentity": {
                "type": "IAMUser", "principalId": self.account.as_str(), "arn": principal,
                "accountId": self.account.as_str(), "accessKeyId": access_key,
            },
            "eventTime": time / 1000,
            "eventSource": "kms.amazonaws.com",
            "eventName": name,
            "awsRegion": self.region,
            "sourceIPAddress": "127.0.0.1",
            "userAgent": "kinko-bench trail",
            "requestParameters": { "keyId": key.to_string(), "encryptionAlgorithm": "SYMMETRIC_DEFAULT" },
            "responseElements": null,
            "requestID": request_id,
            "eventID": event_id,
            "readOnly": read_only,
            "resources": [{ "accountId": self.account.as_str(), "type": "AWS::KMS::Key", "ARN": arn }],
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "eventCategory": "Management",
            "recipientAccountId": self.account.as_str(),
        });
        if failed {
            record["errorCode"] = json!("AccessDeniedException");
        }
        AuditDraft {
            event_id,
            request_id: Some(request_id),
            time: UnixMillis(time),
            event_source: "kms.amazonaws.com".to_owned(),
            event_name: name.to_owned(),
            read_only,
            account: Some(self.account.clone()),
            principal_arn: Some(principal),
            access_key_id: Some(access_key),
            key_id: Some(key),
            source_key_id: None,
            error_code: failed.then(|| "AccessDeniedException".to_owned()),
            record: serde_json::to_vec(&record).unwrap_or_default(),
        }
    }

    async fn append(&self, store: &dyn AuditStore, total: usize) -> Result<()> {
        let mut n = 0;
        while n < total {
            let end = (n + BATCH).min(total);
            let drafts: Vec<AuditDraft> = (n..end).map(|i| self.draft(i, total)).collect();
            store
                .append_audit(CHAIN, &drafts)
                .await
                .context("appending the generated trail")?;
            n = end;
        }
        Ok(())
    }

    /// (label, lookup attribute) of every lookup timed; `None` is the unfiltered first page.
    fn lookups(&self, total: usize) -> Vec<(String, Option<Value>)> {
        let attr = |k: &str, v: &str| Some(json!({ "AttributeKey": k, "AttributeValue": v }));
        let (_, access_key) = self.user(3);
        let key = self.keys[5].to_string();
        let arn = format!(
            "arn:aws:kms:{}:{}:key/{key}",
            self.region,
            self.account.as_str()
        );
        let n = 12_345 % total.max(1);
        let some_event = Self::event_id(self.time(n, total), n);
        let mut out = vec![("unfiltered, first page".to_owned(), None)];
        for (k, none, some) in [
            (
                "EventId",
                "00000000-0000-7000-8000-000000000000",
                some_event.as_str(),
            ),
            ("EventName", "NoSuchEvent", "TagResource"),
            ("EventSource", "nosuch.amazonaws.com", "kms.amazonaws.com"),
            ("Username", "nobody", "user-3"),
            ("AccessKeyId", "AKIANOSUCHKEY0000000", access_key.as_str()),
            ("ResourceType", "AWS::S3::Bucket", "AWS::KMS::Key"),
            (
                "ResourceName",
                "00000000-0000-4000-8000-00000000dead",
                arn.as_str(),
            ),
            ("ReadOnly", "", "false"),
        ] {
            if !none.is_empty() {
                out.push((format!("{k}, matching nothing"), attr(k, none)));
            }
            out.push((format!("{k}={some}"), attr(k, some)));
        }
        out
    }
}
