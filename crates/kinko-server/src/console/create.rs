//! The Create key wizard: the kind (symmetric, asymmetric, HMAC, key agreement) offers only its
//! valid spec and usage pairs; then alias, description and tags; then key administrators and key
//! users, from which the key policy is generated as AWS's console generates it; then a review
//! step showing that policy. Creating is CreateKey (and CreateAlias) as the signed-in principal.
//! Without script, each step is a form posting to the next; `console.js` only adds checks.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::call;
use super::ctx::{Console, after_change, change_ctx, page_ctx};
use super::html::{csrf_field, esc, html, page, url};
use crate::query::Params;

/// The kinds of key and their valid (spec, usage) pairs.
/// A kind's valid (spec, usage) pairs.
type Pairs = &'static [(&'static str, &'static str)];

const KINDS: &[(&str, &str, Pairs)] = &[
    (
        "symmetric",
        "Symmetric (encrypt and decrypt)",
        &[("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")],
    ),
    (
        "asymmetric",
        "Asymmetric (encrypt and decrypt, or sign and verify)",
        &[
            ("RSA_2048", "ENCRYPT_DECRYPT"),
            ("RSA_3072", "ENCRYPT_DECRYPT"),
            ("RSA_4096", "ENCRYPT_DECRYPT"),
            ("RSA_2048", "SIGN_VERIFY"),
            ("RSA_3072", "SIGN_VERIFY"),
            ("RSA_4096", "SIGN_VERIFY"),
            ("ECC_NIST_P256", "SIGN_VERIFY"),
            ("ECC_NIST_P384", "SIGN_VERIFY"),
            ("ECC_NIST_P521", "SIGN_VERIFY"),
            ("ECC_SECG_P256K1", "SIGN_VERIFY"),
        ],
    ),
    (
        "hmac",
        "HMAC (generate and verify MAC)",
        &[
            ("HMAC_224", "GENERATE_VERIFY_MAC"),
            ("HMAC_256", "GENERATE_VERIFY_MAC"),
            ("HMAC_384", "GENERATE_VERIFY_MAC"),
            ("HMAC_512", "GENERATE_VERIFY_MAC"),
        ],
    ),
    (
        "agreement",
        "Key agreement",
        &[
            ("ECC_NIST_P256", "KEY_AGREEMENT"),
            ("ECC_NIST_P384", "KEY_AGREEMENT"),
            ("ECC_NIST_P521", "KEY_AGREEMENT"),
        ],
    ),
];

/// The actions AWS's console grants key administrators.
const ADMIN_ACTIONS: &[&str] = &[
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
];

/// The actions AWS's console grants key users, by key usage.
fn user_actions(usage: &str) -> &'static [&'static str] {
    match usage {
        "SIGN_VERIFY" => &[
            "kms:DescribeKey",
            "kms:GetPublicKey",
            "kms:Sign",
            "kms:Verify",
        ],
        "GENERATE_VERIFY_MAC" => &["kms:DescribeKey", "kms:GenerateMac", "kms:VerifyMac"],
        "KEY_AGREEMENT" => &[
            "kms:DescribeKey",
            "kms:GetPublicKey",
            "kms:DeriveSharedSecret",
        ],
        _ => &[
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:DescribeKey",
        ],
    }
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The key policy AWS's console generates for `admins` and `users` of a key of `spec`/`usage`
/// in `account`.
pub(crate) fn generated_policy(
    account: &str,
    spec: &str,
    usage: &str,
    admins: &[String],
    users: &[String],
) -> Value {
    let mut statements = vec![json!({
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": { "AWS": format!("arn:aws:iam::{account}:root") },
        "Action": "kms:*",
        "Resource": "*",
    })];
    if !admins.is_empty() {
        statements.push(json!({
            "Sid": "Allow access for Key Administrators",
            "Effect": "Allow",
            "Principal": { "AWS": admins },
            "Action": ADMIN_ACTIONS,
            "Resource": "*",
        }));
    }
    if !users.is_empty() {
        statements.push(json!({
            "Sid": "Allow use of the key",
            "Effect": "Allow",
            "Principal": { "AWS": users },
            "Action": user_actions(usage),
            "Resource": "*",
        }));
        if spec == "SYMMETRIC_DEFAULT" {
            statements.push(json!({
                "Sid": "Allow attachment of persistent resources",
                "Effect": "Allow",
                "Principal": { "AWS": users },
                "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                "Resource": "*",
                "Condition": { "Bool": { "kms:GrantIsForAWSResource": "true" } },
            }));
        }
    }
    json!({ "Id": "key-consolepolicy-3", "Version": "2012-10-17", "Statement": statements })
}

/// The wizard's answers so far.
struct Answers {
    kind: String,
    pair: String,
    alias: String,
    description: String,
    tags: String,
    admins: String,
    users: String,
}

impl Answers {
    fn from(p: &Params) -> Answers {
        let g = |k: &str| p.get(k).unwrap_or("").to_owned();
        Answers {
            kind: g("kind"),
            pair: g("pair"),
            alias: g("alias"),
            description: g("description"),
            tags: g("tags"),
            admins: g("admins"),
            users: g("users"),
        }
    }

    fn hidden(&self, except: &[&str]) -> String {
        let mut s = String::new();
        for (k, v) in [
            ("kind", &self.kind),
            ("pair", &self.pair),
            ("alias", &self.alias),
            ("description", &self.description),
            ("tags", &self.tags),
            ("admins", &self.admins),
            ("users", &self.users),
        ] {
            if !except.contains(&k) {
                s.push_str(&format!(
                    "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                    esc(v)
                ));
            }
        }
        s
    }

    fn spec_usage(&self) -> Option<(&'static str, &'static str)> {
        let (_, _, pairs) = KINDS.iter().find(|(k, _, _)| *k == self.kind)?;
        pairs
            .iter()
            .copied()
            .find(|(s, u)| format!("{s}/{u}") == self.pair)
    }
}

fn step(ctx: &super::Ctx, n: u8, title: &str, inner: &str) -> String {
    format!(
        "<ol class=\"steps\" aria-label=\"Steps\">{}</ol>\
         <form method=\"post\" action=\"/console/create\" class=\"wizard\">{}<h2>Step {n}: {title}</h2>{inner}</form>",
        ["Key type", "Labels", "Permissions", "Review"]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let cur = if i + 1 == usize::from(n) {
                    " aria-current=\"step\""
                } else {
                    ""
                };
                format!("<li{cur}>{s}</li>")
            })
            .collect::<String>(),
        csrf_field(&ctx.session)
    )
}

/// `GET /console/create`: step 1.
pub(crate) async fn form(State(c): State<Arc<Console>>, request: Request) -> Response {
    let ctx = match page_ctx(&c, &request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let mut inner = String::from("<fieldset><legend>Key type and spec</legend>");
    for (kind, label, pairs) in KINDS {
        inner.push_str(&format!(
            "<fieldset class=\"kind\"><legend>{}</legend>",
            esc(label)
        ));
        for (spec, usage) in *pairs {
            let id = format!("pair-{kind}-{spec}-{usage}");
            let checked = if *kind == "symmetric" { " checked" } else { "" };
            inner.push_str(&format!(
                "<input type=\"radio\" name=\"choice\" id=\"{id}\" value=\"{kind}|{spec}/{usage}\"{checked}>\
                 <label for=\"{id}\">{spec} · {usage}</label><br>"
            ));
        }
        inner.push_str("</fieldset>");
    }
    inner.push_str("</fieldset><input type=\"hidden\" name=\"step\" value=\"2\"><button type=\"submit\" id=\"next\">Next</button>");
    let body = step(&ctx, 1, "Key type", &inner);
    html(
        StatusCode::OK,
        page(&ctx.session, "create", "Create key", &body),
    )
}

/// `POST /console/create`: the next step, or the key.
pub(crate) async fn submit(State(c): State<Arc<Console>>, request: Request) -> Response {
    let (ctx, p) = match change_ctx(&c, request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let mut a = Answers::from(&p);
    if let Some((kind, pair)) = p.get("choice").and_then(|c| c.split_once('|')) {
        a.kind = kind.to_owned();
        a.pair = pair.to_owned();
    }
    let Some((spec, usage)) = a.spec_usage() else {
        return after_change(
            &c,
            &ctx,
            false,
            "Choose a key type and spec.".into(),
            "/console/create",
        );
    };
    let account = ctx.session.caller.account.as_str().to_owned();
    let n: u8 = p.get("step").and_then(|s| s.parse().ok()).unwrap_or(2);
    let page_of = |n: u8, title: &str, inner: String| {
        let body = step(&ctx, n, title, &inner);
        html(
            StatusCode::OK,
            page(&ctx.session, "create", "Create key", &body),
        )
    };
    match n {
        2 => page_of(
            2,
            "Labels",
            format!(
                "<p>Key spec <strong>{spec}</strong>, usage <strong>{usage}</strong>.</p>{}\
             <label for=\"alias\">Alias (without or with alias/)</label><input id=\"alias\" name=\"alias\" value=\"{}\">\
             <label for=\"description\">Description</label><input id=\"description\" name=\"description\" value=\"{}\">\
             <label for=\"tags\">Tags (one key=value per line)</label><textarea id=\"tags\" name=\"tags\" rows=\"3\">{}</textarea>\
             <input type=\"hidden\" name=\"step\" value=\"3\"><button type=\"submit\" id=\"next\">Next</button>",
                a.hidden(&["alias", "description", "tags"]),
                esc(&a.alias),
                esc(&a.description),
                esc(&a.tags)
            ),
        ),
        3 => page_of(
            3,
            "Permissions",
            format!(
                "{}<label for=\"admins\">Key administrators (IAM user or role ARNs, one per line)</label>\
             <textarea id=\"admins\" name=\"admins\" rows=\"3\">{}</textarea>\
             <label for=\"users\">Key users (IAM user or role ARNs, one per line)</label>\
             <textarea id=\"users\" name=\"users\" rows=\"3\">{}</textarea>\
             <p class=\"hint\">The account's root (<code>arn:aws:iam::{account}:root</code>) is always given full access, as in AWS's default policy.</p>\
             <input type=\"hidden\" name=\"step\" value=\"4\"><button type=\"submit\" id=\"next\">Next</button>",
                a.hidden(&["admins", "users"]),
                esc(&a.admins),
                esc(&a.users)
            ),
        ),
        4 => {
            let policy =
                generated_policy(&account, spec, usage, &lines(&a.admins), &lines(&a.users));
            let pretty = serde_json::to_string_pretty(&policy).unwrap_or_default();
            page_of(
                4,
                "Review",
                format!(
                    "{}<dl class=\"config\"><dt>Key spec</dt><dd>{spec}</dd><dt>Key usage</dt><dd>{usage}</dd>\
                 <dt>Alias</dt><dd>{}</dd><dt>Description</dt><dd>{}</dd><dt>Tags</dt><dd>{}</dd></dl>\
                 <label for=\"review-policy\">Key policy</label><textarea id=\"review-policy\" readonly rows=\"20\" cols=\"90\">{}</textarea>\
                 <input type=\"hidden\" name=\"step\" value=\"5\"><button type=\"submit\" id=\"create\">Create key</button>",
                    a.hidden(&[]),
                    esc(&a.alias),
                    esc(&a.description),
                    esc(&a.tags),
                    esc(&pretty)
                ),
            )
        }
        _ => create(&c, &ctx, &a, spec, usage, &account).await,
    }
}

async fn create(
    c: &Console,
    ctx: &super::Ctx,
    a: &Answers,
    spec: &str,
    usage: &str,
    account: &str,
) -> Response {
    let policy = generated_policy(account, spec, usage, &lines(&a.admins), &lines(&a.users));
    let mut tags = Vec::new();
    for line in a.tags.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        tags.push(json!({ "TagKey": k.trim(), "TagValue": v.trim() }));
    }
    let mut body = json!({
        "KeySpec": spec,
        "KeyUsage": usage,
        "Description": a.description,
        "Policy": policy.to_string(),
    });
    if !tags.is_empty() {
        body["Tags"] = Value::Array(tags);
    }
    let created = match call::kms(&c.app, &ctx.session, &ctx.conn, "CreateKey", body).await {
        Ok(v) => v,
        Err(e) => {
            return after_change(
                c,
                ctx,
                false,
                format!("CreateKey was refused. {e}"),
                "/console/create",
            );
        }
    };
    let key_id = created["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let to = format!("/console/keys/{}", url(&key_id));
    let alias = a.alias.trim();
    if !alias.is_empty() {
        let name = if alias.starts_with("alias/") {
            alias.to_owned()
        } else {
            format!("alias/{alias}")
        };
        if let Err(e) = call::kms(
            &c.app,
            &ctx.session,
            &ctx.conn,
            "CreateAlias",
            json!({ "AliasName": name, "TargetKeyId": key_id }),
        )
        .await
        {
            return after_change(
                c,
                ctx,
                false,
                format!("Key {key_id} was created, but CreateAlias was refused. {e}"),
                &to,
            );
        }
    }
    after_change(c, ctx, true, format!("Key {key_id} was created."), &to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_policy_is_the_consoles() {
        let admins = vec!["arn:aws:iam::111122223333:user/admin".to_owned()];
        let users = vec!["arn:aws:iam::111122223333:user/app".to_owned()];
        let p = generated_policy(
            "111122223333",
            "SYMMETRIC_DEFAULT",
            "ENCRYPT_DECRYPT",
            &admins,
            &users,
        );
        let s = p["Statement"].as_array().expect("statements");
        assert_eq!(s.len(), 4);
        assert_eq!(s[0]["Principal"]["AWS"], "arn:aws:iam::111122223333:root");
        assert_eq!(s[1]["Principal"]["AWS"][0], admins[0].as_str());
        assert!(
            s[2]["Action"]
                .as_array()
                .expect("actions")
                .contains(&json!("kms:Decrypt"))
        );
        let p = generated_policy("111122223333", "ECC_NIST_P256", "SIGN_VERIFY", &[], &users);
        let s = p["Statement"].as_array().expect("statements");
        assert_eq!(s.len(), 2);
        assert!(
            s[1]["Action"]
                .as_array()
                .expect("actions")
                .contains(&json!("kms:Sign"))
        );
    }
}
