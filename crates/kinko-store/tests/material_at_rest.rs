//! Key material never reaches the disk unwrapped. A recording root key sees every plaintext
//! material the service wraps (the only place it exists in clear besides the cache); after a
//! workload through `Kms` on the real SQLite store, every file of the data directory, and a
//! backup taken while the store was open, is scanned for each recorded material and for each
//! data key the workload produced.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kinko_core::{
    AuditDraft, AuditStore, Caller, CreateKeyRequest, DataKeySize, EncryptionContext, Key, KeyRef,
    KeySpec, KeyUsage, Kms, Origin, Region, SystemClock,
};
use kinko_crypto::{CryptoError, RootKey, SecretBytes, SoftwareRootKey};
use kinko_store::SqliteStore;

#[derive(Debug)]
struct RecordingRoot {
    inner: SoftwareRootKey,
    seen: Mutex<Vec<Vec<u8>>>,
}

impl RootKey for RecordingRoot {
    fn wrap(&self, material: &SecretBytes, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(material.expose().to_vec());
        }
        self.inner.wrap(material, aad)
    }
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<SecretBytes, CryptoError> {
        self.inner.unwrap(wrapped, aad)
    }
    fn provider(&self) -> &'static str {
        "file"
    }
    fn id(&self) -> String {
        self.inner.id()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.len() <= haystack.len() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn no_material_or_data_key_in_any_file() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("kinko.db")).await?;
    let root = Arc::new(RecordingRoot {
        inner: SoftwareRootKey::new(&SecretBytes::new(vec![42; 32]), "file")?,
        seen: Mutex::new(Vec::new()),
    });
    let kms = Kms::new(Arc::new(store.clone()), root.clone(), Arc::new(SystemClock));
    let new_key = kms
        .ensure_default_account()
        .await?
        .ok_or("no account created")?;
    let caller = Caller::new(
        new_key.account.clone(),
        Region::parse("us-east-1").ok_or("region")?,
        kinko_core::Principal::parse(&new_key.principal_arn).ok_or("principal")?,
    );
    // The event each CreateKey commits with the key (the server builds the real CloudTrail
    // record; here it only has to name the key).
    let audit = |key: &Key| AuditDraft {
        event_id: format!("event-{}", key.id()),
        request_id: None,
        time: key.created_at,
        event_source: "kms.amazonaws.com".to_owned(),
        event_name: "CreateKey".to_owned(),
        read_only: false,
        account: Some(key.arn.account.clone()),
        principal_arn: None,
        access_key_id: None,
        key_id: Some(key.id()),
        source_key_id: None,
        error_code: None,
        record: format!("{{\"eventName\":\"CreateKey\",\"keyId\":\"{}\"}}", key.id()).into_bytes(),
    };
    let mut data_keys = Vec::new();
    let mut key_ids = Vec::new();
    for i in 0..5 {
        let key = kms
            .create_key(
                &caller,
                CreateKeyRequest {
                    description: format!("k{i}"),
                    spec: KeySpec::SymmetricDefault,
                    usage: KeyUsage::EncryptDecrypt,
                    origin: Origin::AwsKms,
                    policy: None,
                    tags: vec![],
                    multi_region: false,
                    custom_key_store: false,
                    bypass_policy_lockout_safety_check: false,
                },
                &audit,
            )
            .await?;
        key_ids.push(key.id());
        let key_ref = KeyRef::Id(key.id());
        let ctx = EncryptionContext(BTreeMap::from([("purpose".to_owned(), "scan".to_owned())]));
        let out = kms
            .generate_data_key(&caller, &key_ref, DataKeySize::Aes256, &ctx, true)
            .await?;
        data_keys.push(out.plaintext.ok_or("no plaintext")?.expose().to_vec());
        let back = kms
            .decrypt(
                &caller,
                &out.ciphertext,
                &ctx,
                None,
                kinko_core::EncryptionAlgorithmSpec::SymmetricDefault,
            )
            .await?;
        assert_eq!(
            back.plaintext.expose(),
            data_keys.last().map(Vec::as_slice).unwrap_or_default()
        );
    }
    // Each CreateKey committed its event with it, on this node's chain.
    let events = store.audit_events(kms.audit_chain(), 0, 100).await?;
    assert_eq!(
        events.iter().map(|e| e.draft.key_id).collect::<Vec<_>>(),
        key_ids.iter().copied().map(Some).collect::<Vec<_>>(),
        "one CreateKey event per key, in order"
    );
    assert!(events.iter().all(|e| e.draft.event_name == "CreateKey"));
    // A backup taken while the store is open is scanned with everything else below.
    let backup = dir.path().join("backup.db");
    store.backup_to(&backup).await?;
    assert!(
        std::fs::metadata(&backup)?.len() > 4096,
        "the backup holds the database"
    );
    store.close().await;
    let materials = root.seen.lock().map(|s| s.clone()).unwrap_or_default();
    // 5 key materials + 1 access-key secret.
    assert_eq!(
        materials.len(),
        6,
        "every material went through the root key"
    );
    let mut scanned = 0;
    for entry in std::fs::read_dir(dir.path())? {
        let path = entry?.path();
        let bytes = std::fs::read(&path)?;
        scanned += bytes.len();
        for secret in materials.iter().chain(data_keys.iter()) {
            assert!(
                !contains(&bytes, secret),
                "a secret appears in clear in {}",
                path.display()
            );
        }
    }
    assert!(
        scanned > 4096,
        "the scan read the database ({scanned} bytes)"
    );
    Ok(())
}
