//! What reaches the data directory. The root key cannot be read from outside, so instead of
//! unwrapping the stored material the test checks its consequence: no data key, plaintext or
//! secret access key that crossed the API is anywhere on disk after a clean shutdown; and the
//! files that must hold secrets (the root key, the credentials) are private to the owner.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::harness::{Kinko, b64, str_at, unb64};

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list a directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if path.is_file() {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

#[tokio::test]
async fn no_data_key_or_plaintext_is_written_to_disk() {
    let kinko = Kinko::start().await;
    let k1 = kinko.create_key().await;
    let k2 = kinko.create_key().await;
    kinko
        .ok(
            "CreateAlias",
            json!({"AliasName": "alias/at-rest", "TargetKeyId": k2}),
        )
        .await;

    let mut secrets: Vec<Vec<u8>> = Vec::new();
    for (key, size) in [
        (&k1, json!({"KeySpec": "AES_256"})),
        (&k1, json!({"KeySpec": "AES_128"})),
        (&k2, json!({"NumberOfBytes": 64})),
        (&k2, json!({"NumberOfBytes": 1024})),
    ] {
        let mut body = size;
        body["KeyId"] = json!(key);
        body["EncryptionContext"] = json!({"purpose": "at-rest"});
        let reply = kinko.ok("GenerateDataKey", body).await;
        let plaintext = unb64(str_at(&reply, "/Plaintext"));
        // Decrypting the data key through the API must not persist it either.
        let decrypted = kinko
            .ok(
                "Decrypt",
                json!({"CiphertextBlob": reply["CiphertextBlob"], "EncryptionContext": {"purpose": "at-rest"}}),
            )
            .await;
        assert_eq!(unb64(str_at(&decrypted, "/Plaintext")), plaintext);
        secrets.push(plaintext);
    }
    let without = kinko
        .ok(
            "GenerateDataKeyWithoutPlaintext",
            json!({"KeyId": "alias/at-rest", "KeySpec": "AES_256"}),
        )
        .await;
    let decrypted = kinko
        .ok(
            "Decrypt",
            json!({"CiphertextBlob": without["CiphertextBlob"]}),
        )
        .await;
    secrets.push(unb64(str_at(&decrypted, "/Plaintext")));
    // A caller's plaintext goes through Encrypt, Decrypt and ReEncrypt.
    let canary = b"kinko at-rest canary: this plaintext must never reach the disk".to_vec();
    let encrypted = kinko
        .ok("Encrypt", json!({"KeyId": k1, "Plaintext": b64(&canary)}))
        .await;
    let reencrypted = kinko
        .ok(
            "ReEncrypt",
            json!({"CiphertextBlob": encrypted["CiphertextBlob"], "DestinationKeyId": k2}),
        )
        .await;
    let decrypted = kinko
        .ok(
            "Decrypt",
            json!({"CiphertextBlob": reencrypted["CiphertextBlob"]}),
        )
        .await;
    assert_eq!(unb64(str_at(&decrypted, "/Plaintext")), canary);
    secrets.push(canary);
    let secret_access_key = kinko.secret.clone().into_bytes();

    let data_dir = kinko.data_dir.clone();
    let dir = kinko.close().await;
    let files = files_under(&data_dir);
    assert!(
        files.iter().any(|f| f.ends_with("kinko.db")),
        "the scan covers the database: {files:?}"
    );

    for file in &files {
        let bytes = std::fs::read(file).expect("read a data file");
        for secret in &secrets {
            assert!(
                !contains(&bytes, secret),
                "{} holds a {}-byte plaintext",
                file.display(),
                secret.len()
            );
            assert!(
                !contains(&bytes, b64(secret).as_bytes()),
                "{} holds a {}-byte plaintext in base64",
                file.display(),
                secret.len()
            );
        }
        // The secret access key belongs in the credentials file and nowhere else.
        if !file.ends_with(kinko_server::CREDENTIALS_FILE) {
            assert!(
                !contains(&bytes, &secret_access_key),
                "{} holds the secret access key",
                file.display()
            );
        }
    }
    drop(dir);
}

/// The data directory is the owner's alone; `root.key` (32 bytes) and `credentials` (the
/// `[default]` profile with the new access key) are mode 0600.
#[tokio::test]
async fn root_key_and_credentials_are_private() {
    let kinko = Kinko::start().await;
    let data_dir = kinko.data_dir.clone();
    assert_eq!(mode(&data_dir), 0o700, "data directory mode");

    let root_key = data_dir.join("root.key");
    assert_eq!(mode(&root_key), 0o600, "root.key mode");
    assert_eq!(std::fs::read(&root_key).expect("read root.key").len(), 32);

    let credentials = data_dir.join(kinko_server::CREDENTIALS_FILE);
    assert_eq!(mode(&credentials), 0o600, "credentials mode");
    let text = std::fs::read_to_string(&credentials).expect("read credentials");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let profile = lines
        .iter()
        .position(|l| *l == "[default]")
        .expect("a [default] profile");
    let after = lines.get(profile + 1..).unwrap_or_default();
    assert!(
        after.contains(&format!("aws_access_key_id = {}", kinko.access_key_id).as_str()),
        "{text}"
    );
    assert!(
        after.contains(&format!("aws_secret_access_key = {}", kinko.secret).as_str()),
        "{text}"
    );

    // The credentials work: they are the ones the harness signs with.
    kinko.ok("ListKeys", json!({})).await;
    drop(kinko.close().await);
}
