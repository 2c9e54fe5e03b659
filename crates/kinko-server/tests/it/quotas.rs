//! AWS's request quotas through the router: charged per account and signing region after
//! SigV4, so that requests nobody could sign never use up an account's bucket. Rates are set so
//! low (one request, then none for 100 s) that no assertion depends on timing.

use kinko_server::quota::{QuotaRate, QuotaSettings};
use serde_json::json;

use crate::harness::{Kinko, Signer, expect_error};

const THROTTLED: &str =
    "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.";

async fn with_quotas(quotas: &[(&str, f64)]) -> Kinko {
    let settings = QuotaSettings::from_entries(
        quotas
            .iter()
            .map(|(name, rate)| (*name, QuotaRate::PerSecond(*rate))),
    )
    .expect("quota settings");
    Kinko::start_with(|config| config.quotas = settings).await
}

#[tokio::test]
async fn unauthenticated_requests_never_reach_the_bucket() {
    let k = with_quotas(&[("all", 1_000_000.0), ("create-key", 0.01)]).await;
    let forged = Signer {
        secret: "not-the-secret-access-key-of-anyone-at-all",
        ..k.signer()
    };
    for _ in 0..20 {
        let reply = k.check_as("CreateKey", json!({}), forged).await;
        expect_error(&reply, 400, "InvalidSignatureException");
    }
    // The account's one request this 100 s is still there...
    k.ok("CreateKey", json!({})).await;
    // ...and then the bucket is empty.
    let message = k.fails("CreateKey", json!({}), "ThrottlingException").await;
    assert_eq!(message, THROTTLED);
}

#[tokio::test]
async fn each_region_and_each_quota_has_its_own_bucket_and_a_throttled_change_changes_nothing() {
    let k = with_quotas(&[("all", 1_000_000.0), ("create-key", 0.01)]).await;
    k.ok("CreateKey", json!({})).await;
    k.fails("CreateKey", json!({}), "ThrottlingException").await;
    let keys = k.ok("ListKeys", json!({})).await;
    assert_eq!(keys["Keys"].as_array().map(Vec::len), Some(1), "{keys}");
    // Another signing region: its own bucket.
    let west = Signer {
        region: "us-west-2",
        ..k.signer()
    };
    let (status, body, _) = k.check_as("CreateKey", json!({}), west).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn symmetric_cryptographic_operations_share_one_bucket() {
    let k = with_quotas(&[("all", 1_000_000.0), ("cryptographic-symmetric", 0.01)]).await;
    let key = k.ok("CreateKey", json!({})).await;
    let key_id = key["KeyMetadata"]["KeyId"].clone();
    k.ok("GenerateRandom", json!({"NumberOfBytes": 16})).await;
    k.fails(
        "Encrypt",
        json!({"KeyId": key_id, "Plaintext": "aGk="}),
        "ThrottlingException",
    )
    .await;
    // Management operations count against their own quotas.
    k.ok("DescribeKey", json!({"KeyId": key_id})).await;
}
