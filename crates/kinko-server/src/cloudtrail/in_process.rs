//! LookupEvents through the whole stack: a real server on a temporary data directory, requests
//! signed and sent through the router in-process, a clock the test moves.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::body::Body;
use http::{Request, StatusCode};
use kinko_core::{Account, AccountId, Clock, UnixMillis};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{Config, FileConfig, RootOptions, Server};

const T0: i64 = 1_767_225_600_000;
const HOST: &str = "kinko.test:7700";

#[derive(Debug)]
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> UnixMillis {
        UnixMillis(self.0.load(Ordering::SeqCst))
    }
}

struct Creds {
    id: String,
    secret: String,
}

struct Kinko {
    _dir: tempfile::TempDir,
    clock: Arc<TestClock>,
    server: Server,
    me: Creds,
}

struct Reply {
    status: StatusCode,
    body: Value,
    request_id: String,
}

impl Kinko {
    async fn start() -> Kinko {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = Config::resolve(
            FileConfig::default(),
            Some(dir.path().join("data")),
            Some("127.0.0.1:0".into()),
            Some("us-east-1".into()),
            None,
        )
        .expect("a config");
        let clock = Arc::new(TestClock(AtomicI64::new(T0)));
        let server = Server::open_with_clock(&config, &RootOptions::default(), clock.clone())
            .await
            .expect("open the server");
        let key = server.new_access_key.as_ref().expect("a first access key");
        let me = Creds {
            id: key.id.to_string(),
            secret: String::from_utf8(key.secret.expose().to_vec()).expect("text"),
        };
        Kinko {
            _dir: dir,
            clock,
            server,
            me,
        }
    }

    fn kms(&self) -> &kinko_core::Kms {
        &self.server.state.kms
    }

    async fn other_account(&self) -> Creds {
        let account = AccountId::parse("444455556666").expect("an account id");
        self.kms()
            .store()
            .create_account(&Account {
                id: account.clone(),
                created_at: UnixMillis(T0),
            })
            .await
            .expect("create an account");
        let key = self
            .kms()
            .create_access_key(&account, "arn:aws:iam::444455556666:root")
            .await
            .expect("an access key");
        Creds {
            id: key.id.to_string(),
            secret: String::from_utf8(key.secret.expose().to_vec()).expect("text"),
        }
    }

    async fn send(&self, target: &str, service: &str, body: &[u8], creds: &Creds) -> Reply {
        let headers: Vec<(&str, &str)> = vec![
            ("host", HOST),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target),
        ];
        let params = kinko_sigv4::SignParams {
            access_key_id: &creds.id,
            secret_access_key: &creds.secret,
            session_token: None,
            region: "us-east-1",
            service,
            now_epoch_secs: self.clock.now().as_secs(),
        };
        let mut builder = Request::builder().method("POST").uri("/");
        for (n, v) in &headers {
            builder = builder.header(*n, *v);
        }
        for (n, v) in kinko_sigv4::sign("POST", "/", "", &headers, body, &params) {
            builder = builder.header(n, v);
        }
        let request = builder
            .header("content-length", body.len())
            .body(Body::from(body.to_vec()))
            .expect("a request");
        let response = crate::router(self.server.state.clone())
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let request_id = response
            .headers()
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        let body = serde_json::from_slice(&bytes).expect("a JSON body");
        Reply {
            status,
            body,
            request_id,
        }
    }

    async fn kms_call(&self, op: &str, body: Value) -> Reply {
        let bytes = serde_json::to_vec(&body).expect("json");
        self.send(&format!("TrentService.{op}"), "kms", &bytes, &self.me)
            .await
    }

    async fn lookup_as(&self, body: Value, creds: &Creds) -> Reply {
        let bytes = serde_json::to_vec(&body).expect("json");
        self.send(
            &format!("{}LookupEvents", super::TARGET_PREFIX),
            "cloudtrail",
            &bytes,
            creds,
        )
        .await
    }

    async fn lookup(&self, body: Value) -> Value {
        let r = self.lookup_as(body, &self.me).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }

    /// Every event a lookup finds, following NextToken.
    async fn lookup_all(&self, mut body: Value) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let page = self.lookup(body.clone()).await;
            let events = page["Events"].as_array().expect("Events").clone();
            assert!(events.len() <= 50);
            all.extend(events);
            match page.get("NextToken") {
                Some(t) => body["NextToken"] = t.clone(),
                None => return all,
            }
        }
    }
}

fn request_ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let record: Value =
                serde_json::from_str(e["CloudTrailEvent"].as_str().expect("CloudTrailEvent"))
                    .expect("record JSON");
            record["requestID"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn lookup_finds_events_by_each_attribute_newest_first() {
    let k = Kinko::start().await;
    let created = k.kms_call("CreateKey", json!({})).await;
    let arn = created.body["KeyMetadata"]["Arn"]
        .as_str()
        .expect("Arn")
        .to_owned();
    let key_id = created.body["KeyMetadata"]["KeyId"]
        .as_str()
        .expect("KeyId")
        .to_owned();
    k.clock.0.fetch_add(2_000, Ordering::SeqCst);
    let enc = k
        .kms_call("Encrypt", json!({"KeyId": arn, "Plaintext": "aGVsbG8="}))
        .await;
    assert_eq!(enc.status, StatusCode::OK);

    let by_name = k
        .lookup(json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}]}))
        .await;
    let events = by_name["Events"].as_array().expect("Events");
    assert_eq!(events.len(), 1, "{by_name}");
    let e = &events[0];
    assert_eq!(e["EventName"], "Encrypt");
    assert_eq!(e["ReadOnly"], "true");
    assert_eq!(e["EventSource"], "kms.amazonaws.com");
    assert_eq!(e["Username"], "root");
    assert_eq!(e["AccessKeyId"], k.me.id.as_str());
    assert_eq!(e["EventTime"].as_f64(), Some(((T0 + 2_000) / 1000) as f64));
    assert_eq!(
        e["Resources"],
        json!([{"ResourceType": "AWS::KMS::Key", "ResourceName": arn}])
    );
    assert!(by_name.get("NextToken").is_none());
    assert_eq!(request_ids(events), vec![enc.request_id.clone()]);
    let event_id = e["EventId"].as_str().expect("EventId").to_owned();

    for (key, value, expect) in [
        ("EventId", event_id.as_str(), 1),
        ("ResourceName", arn.as_str(), 2),
        ("ResourceName", key_id.as_str(), 2),
        ("ResourceType", "AWS::KMS::Key", 2),
        ("ResourceType", "AWS::S3::Bucket", 0),
        ("ResourceName", "alias/nothing", 0),
        ("ReadOnly", "false", 1),
        ("Username", "root", 2),
        ("Username", "alice", 0),
        ("EventSource", "kms.amazonaws.com", 2),
        ("EventSource", "s3.amazonaws.com", 0),
        ("AccessKeyId", k.me.id.as_str(), 2),
    ] {
        let found = k
            .lookup_all(
                json!({"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}]}),
            )
            .await;
        // Each lookup adds an event of its own (no resource, cloudtrail source): counted
        // only by the attributes that match LookupEvents itself.
        let own = found
            .iter()
            .filter(|e| e["EventName"] == "LookupEvents")
            .count();
        assert_eq!(found.len() - own, expect, "{key}={value}: {found:?}");
    }
    // Newest first, and the earlier lookups are there too.
    let all = k.lookup_all(json!({})).await;
    let times: Vec<f64> = all.iter().filter_map(|e| e["EventTime"].as_f64()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert_eq!(
        all.last().map(|e| e["EventName"].clone()),
        Some(json!("CreateKey"))
    );
    assert!(all.iter().any(
        |e| e["EventName"] == "LookupEvents" && e["EventSource"] == "cloudtrail.amazonaws.com"
    ));
}

#[tokio::test]
async fn pages_cover_every_event_once_and_tokens_are_checked() {
    let k = Kinko::start().await;
    let mut ids = Vec::new();
    for n in 0..7 {
        k.clock.0.fetch_add(1_000, Ordering::SeqCst);
        ids.push(
            k.kms_call("GenerateRandom", json!({"NumberOfBytes": 1 + n}))
                .await
                .request_id,
        );
    }
    let filter = json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "GenerateRandom"}]});
    let mut body = filter.clone();
    body["MaxResults"] = json!(3);
    let first = k.lookup(body.clone()).await;
    assert_eq!(first["Events"].as_array().map(Vec::len), Some(3));
    let token = first["NextToken"].as_str().expect("a NextToken").to_owned();

    let mut seen = Vec::new();
    let mut page = first;
    let mut pages = 1;
    loop {
        seen.extend(request_ids(page["Events"].as_array().expect("Events")));
        let Some(t) = page.get("NextToken") else {
            break;
        };
        body["NextToken"] = t.clone();
        page = k.lookup(body.clone()).await;
        pages += 1;
    }
    assert_eq!(pages, 3);
    ids.reverse();
    assert_eq!(seen, ids, "every event once, newest first");

    // A token works only for the query that issued it.
    let mut other =
        json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateKey"}]});
    other["NextToken"] = json!(token);
    let r = k.lookup_as(other, &k.me).await;
    assert_eq!(r.body["__type"], "InvalidNextTokenException", "{}", r.body);
    for bad in ["garbage", "", "Y3QxCmFiYwox"] {
        let r = k.lookup_as(json!({"NextToken": bad}), &k.me).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            r.body["__type"], "InvalidNextTokenException",
            "{bad}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn time_range_max_results_category_and_operations() {
    let k = Kinko::start().await;
    k.kms_call("GenerateRandom", json!({"NumberOfBytes": 8}))
        .await;
    k.clock.0.fetch_add(10_000, Ordering::SeqCst);
    let later = k
        .kms_call("GenerateRandom", json!({"NumberOfBytes": 8}))
        .await;
    let t0 = (T0 / 1000) as f64;
    let name = json!([{"AttributeKey": "EventName", "AttributeValue": "GenerateRandom"}]);

    let window = k
        .lookup(json!({"LookupAttributes": name, "StartTime": t0 + 5.0, "EndTime": t0 + 10.0}))
        .await;
    assert_eq!(
        request_ids(window["Events"].as_array().expect("Events")),
        vec![later.request_id]
    );
    let before = k
        .lookup(json!({"LookupAttributes": name, "EndTime": t0}))
        .await;
    assert_eq!(before["Events"].as_array().map(Vec::len), Some(1));
    let none = k
        .lookup(json!({"LookupAttributes": name, "StartTime": t0 + 11.0}))
        .await;
    assert_eq!(none["Events"], json!([]));

    for (body, code) in [
        (
            json!({"StartTime": t0 + 1.0, "EndTime": t0}),
            "InvalidTimeRangeException",
        ),
        (json!({"MaxResults": 0}), "InvalidMaxResultsException"),
        (json!({"MaxResults": 51}), "InvalidMaxResultsException"),
        (
            json!({"EventCategory": "Management"}),
            "InvalidEventCategoryException",
        ),
        (
            json!({"LookupAttributes": [{"AttributeKey": "Nope", "AttributeValue": "x"}]}),
            "InvalidLookupAttributesException",
        ),
        (json!({"MaxResults": "many"}), "SerializationException"),
    ] {
        let r = k.lookup_as(body.clone(), &k.me).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.body["__type"], code, "{body}: {}", r.body);
    }
    let insight = k.lookup(json!({"EventCategory": "insight"})).await;
    assert_eq!(insight, json!({"Events": []}));

    let unsupported = k
        .send(
            &format!("{}CreateTrail", super::TARGET_PREFIX),
            "cloudtrail",
            b"{}",
            &k.me,
        )
        .await;
    assert_eq!(unsupported.body["__type"], "UnsupportedOperationException");
    assert!(
        unsupported.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("CreateTrail")
    );
    let unknown = k
        .send(
            &format!("{}MakeCoffee", super::TARGET_PREFIX),
            "cloudtrail",
            b"{}",
            &k.me,
        )
        .await;
    assert_eq!(unknown.body["__type"], "UnknownOperationException");
}

#[tokio::test]
async fn each_account_sees_its_own_events_including_bad_signatures_with_its_keys() {
    let k = Kinko::start().await;
    let other = k.other_account().await;
    let mine = k
        .kms_call("GenerateRandom", json!({"NumberOfBytes": 4}))
        .await;
    let theirs = k
        .send(
            "TrentService.GenerateRandom",
            "kms",
            br#"{"NumberOfBytes":4}"#,
            &other,
        )
        .await;
    assert_eq!(theirs.status, StatusCode::OK);
    let forged = Creds {
        id: k.me.id.clone(),
        secret: "not-the-secret".into(),
    };
    let bad = k
        .send(
            "TrentService.GenerateRandom",
            "kms",
            br#"{"NumberOfBytes":4}"#,
            &forged,
        )
        .await;
    assert_eq!(bad.body["__type"], "InvalidSignatureException");

    let seen_by_me = request_ids(&k.lookup_all(json!({})).await);
    assert!(seen_by_me.contains(&mine.request_id));
    assert!(seen_by_me.contains(&bad.request_id));
    assert!(!seen_by_me.contains(&theirs.request_id));

    let r = k.lookup_as(json!({}), &other).await;
    assert_eq!(r.status, StatusCode::OK);
    let events = r.body["Events"].as_array().expect("Events");
    let seen_by_them = request_ids(events);
    assert!(seen_by_them.contains(&theirs.request_id));
    assert!(!seen_by_them.contains(&mine.request_id));
    assert!(!seen_by_them.contains(&bad.request_id));
    let theirs_event = events
        .iter()
        .find(|e| e["EventName"] == "GenerateRandom")
        .expect("their GenerateRandom");
    assert_eq!(theirs_event["Username"], "root");
    assert_eq!(theirs_event["Resources"], json!([]));
}

#[tokio::test]
async fn a_scan_budget_gives_short_pages_that_still_cover_everything_once() {
    let k = Kinko::start().await;
    let mut ids = Vec::new();
    for _ in 0..9 {
        k.clock.0.fetch_add(1_000, Ordering::SeqCst);
        ids.push(
            k.kms_call("GenerateRandom", json!({"NumberOfBytes": 2}))
                .await
                .request_id,
        );
    }
    let account = k
        .server
        .new_access_key
        .as_ref()
        .expect("a key")
        .account
        .clone();
    let caller = kinko_core::Caller::new(
        account.clone(),
        kinko_core::Region::parse("us-east-1").expect("a region"),
        kinko_core::Principal::Root { account },
    );
    let matching = super::request::Attribute::Username("root".into());
    let nobody = super::request::Attribute::Username("nobody".into());
    for (attribute, expected) in [(&matching, ids.len()), (&nobody, 0)] {
        // As LookupEvents does: the attribute is answered by the store's index.
        let mut filter = kinko_core::AuditFilter::default();
        assert!(attribute.push_down(&mut filter));
        let mut cursor = None;
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let (events, next) =
                super::lookup::scan(k.kms(), &caller, &filter, Some(attribute), cursor, 2, 4)
                    .await
                    .expect("a page");
            assert!(events.len() <= 2);
            pages += 1;
            seen.extend(events.into_iter().map(|e| e.event_id));
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let distinct: std::collections::HashSet<_> = seen.iter().collect();
        assert_eq!(seen.len(), expected, "{attribute:?}");
        assert_eq!(distinct.len(), expected, "{attribute:?}");
        if expected == 0 {
            // The index finds nothing: one page, nothing scanned past it.
            assert_eq!(pages, 1, "{attribute:?}");
        } else {
            // 9 events, at most 2 a page and 4 read a page: several pages.
            assert!(pages >= 3, "{attribute:?}: {pages} pages");
        }
    }
}

/// GetKeyLastUsage (a KMS operation) reads the same trail.
#[tokio::test]
async fn key_last_usage_and_usage_counts_come_from_the_trail() {
    let k = Kinko::start().await;
    let created = k.kms_call("CreateKey", json!({})).await;
    let md = &created.body["KeyMetadata"];
    let arn = md["Arn"].as_str().expect("Arn").to_owned();
    let key_id = md["KeyId"].as_str().expect("KeyId").to_owned();
    let fresh = k
        .kms_call("GetKeyLastUsage", json!({"KeyId": key_id}))
        .await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
    assert_eq!(fresh.body["KeyId"], arn.as_str());
    assert_eq!(fresh.body["KeyLastUsage"], json!({}));
    assert_eq!(fresh.body["KeyCreationDate"], md["CreationDate"]);
    assert_eq!(fresh.body["TrackingStartDate"], md["CreationDate"]);

    k.clock.0.fetch_add(3_000, Ordering::SeqCst);
    let enc = k
        .kms_call("Encrypt", json!({"KeyId": key_id, "Plaintext": "aGVsbG8="}))
        .await;
    k.clock.0.fetch_add(3_000, Ordering::SeqCst);
    let bad = k
        .kms_call(
            "Decrypt",
            json!({"KeyId": key_id, "CiphertextBlob": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let used = k.kms_call("GetKeyLastUsage", json!({"KeyId": arn})).await;
    let last = &used.body["KeyLastUsage"];
    assert_eq!(last["Operation"], "Encrypt", "{}", used.body);
    assert_eq!(last["KmsRequestId"], enc.request_id.as_str());
    assert_eq!(
        last["Timestamp"].as_f64(),
        Some((T0 + 3_000) as f64 / 1000.0)
    );
    let by_event = k
        .lookup(json!({"LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": last["CloudTrailEventId"]}]}))
        .await;
    assert_eq!(
        request_ids(by_event["Events"].as_array().expect("Events")),
        vec![enc.request_id]
    );

    let id = kinko_core::KeyId::parse(&key_id).expect("a key id");
    let counts = k.kms().key_usage_counts(&id).await.expect("counts");
    assert_eq!(counts, vec![("Encrypt".to_owned(), 1)]);

    k.kms_call(
        "CreateAlias",
        json!({"AliasName": "alias/used", "TargetKeyId": key_id}),
    )
    .await;
    let account = md["AWSAccountId"].as_str().expect("AWSAccountId");
    let alias_arn = format!("arn:aws:kms:us-east-1:{account}:alias/used");
    for via_alias in ["alias/used", alias_arn.as_str()] {
        let r = k
            .kms_call("GetKeyLastUsage", json!({"KeyId": via_alias}))
            .await;
        assert_eq!(
            r.body["__type"], "NotFoundException",
            "{via_alias}: {}",
            r.body
        );
    }
    let missing = k.kms_call("GetKeyLastUsage", json!({})).await;
    assert_eq!(missing.body["__type"], "ValidationException");
}
