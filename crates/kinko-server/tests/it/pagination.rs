//! Pagination as botocore's paginators read it (`kms-reference.md` §2 "Pagination"): every page
//! but the last has `Truncated: true` and a `NextMarker`; the last has `Truncated: false` and no
//! `NextMarker`; no marker repeats; the pages together list every item exactly once.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::harness::Kinko;

/// Walks `op` with `Limit: limit` from the first page to the last; returns every page's items
/// (the `id` member of each entry of the `list` member), in order.
async fn walk(
    kinko: &Kinko,
    op: &str,
    request: Value,
    list: &str,
    id: &str,
    limit: usize,
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut markers = HashSet::new();
    let mut marker: Option<String> = None;
    loop {
        let mut body = request.clone();
        body["Limit"] = json!(limit);
        if let Some(m) = &marker {
            body["Marker"] = json!(m);
        }
        let reply = kinko.ok(op, body).await;
        let items: Vec<String> = reply[list]
            .as_array()
            .unwrap_or_else(|| panic!("{op}: no {list} array in {reply}"))
            .iter()
            .map(|entry| {
                entry[id]
                    .as_str()
                    .unwrap_or_else(|| panic!("{op}: no {id} in {entry}"))
                    .to_owned()
            })
            .collect();
        assert!(
            items.len() <= limit,
            "{op}: page of {} items with Limit {limit}",
            items.len()
        );
        pages.push(items);
        match reply.get("Truncated") {
            Some(Value::Bool(true)) => {
                let next = reply["NextMarker"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{op}: Truncated without NextMarker"));
                assert!(
                    markers.insert(next.to_owned()),
                    "{op}: marker {next} repeated"
                );
                marker = Some(next.to_owned());
            }
            Some(Value::Bool(false)) => {
                assert!(
                    reply.get("NextMarker").is_none(),
                    "{op}: the last page has a NextMarker: {reply}"
                );
                return pages;
            }
            other => panic!("{op}: Truncated must be a boolean, got {other:?} in {reply}"),
        }
        assert!(pages.len() <= 100, "{op}: pagination does not end");
    }
}

/// Asserts the pages have the expected sizes and together hold `expected` exactly once each.
fn assert_pages(pages: &[Vec<String>], sizes: &[usize], expected: &[String]) {
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        sizes,
        "page sizes of {pages:?}"
    );
    let all: Vec<&String> = pages.iter().flatten().collect();
    let unique: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "an item is listed twice: {pages:?}"
    );
    let mut listed: Vec<&String> = all;
    listed.sort();
    let mut wanted: Vec<&String> = expected.iter().collect();
    wanted.sort();
    assert_eq!(listed, wanted);
}

#[tokio::test]
async fn list_keys_pages_list_every_key_once() {
    let kinko = Kinko::start().await;
    let mut keys = Vec::new();
    for _ in 0..5 {
        keys.push(kinko.create_key().await);
    }
    let pages = walk(&kinko, "ListKeys", json!({}), "Keys", "KeyId", 2).await;
    assert_pages(&pages, &[2, 2, 1], &keys);
    let pages = walk(&kinko, "ListKeys", json!({}), "Keys", "KeyId", 5).await;
    assert_pages(&pages, &[5], &keys);
    let pages = walk(&kinko, "ListKeys", json!({}), "Keys", "KeyId", 1).await;
    assert_pages(&pages, &[1, 1, 1, 1, 1], &keys);
    // The default limit (100) holds them all on one page.
    let reply = kinko.ok("ListKeys", json!({})).await;
    assert_eq!(reply["Truncated"], false);
    assert_eq!(reply["Keys"].as_array().map(Vec::len), Some(5));
}

#[tokio::test]
async fn list_aliases_pages_list_every_alias_once() {
    let kinko = Kinko::start().await;
    let k1 = kinko.create_key().await;
    let k2 = kinko.create_key().await;
    let mut names = Vec::new();
    for (i, target) in [&k1, &k2, &k1, &k2, &k1].into_iter().enumerate() {
        let name = format!("alias/page-{i}");
        kinko
            .ok(
                "CreateAlias",
                json!({"AliasName": name, "TargetKeyId": target}),
            )
            .await;
        names.push(name);
    }
    let pages = walk(&kinko, "ListAliases", json!({}), "Aliases", "AliasName", 2).await;
    assert_pages(&pages, &[2, 2, 1], &names);

    // Filtered by key, the same rules hold.
    let of_k1: Vec<String> = ["alias/page-0", "alias/page-2", "alias/page-4"]
        .map(str::to_owned)
        .to_vec();
    let pages = walk(
        &kinko,
        "ListAliases",
        json!({"KeyId": k1}),
        "Aliases",
        "AliasName",
        2,
    )
    .await;
    assert_pages(&pages, &[2, 1], &of_k1);
}

#[tokio::test]
async fn list_resource_tags_pages_list_every_tag_once() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let tags: Vec<Value> = (0..5)
        .map(|i| json!({"TagKey": format!("tag-{i}"), "TagValue": format!("v{i}")}))
        .collect();
    kinko
        .ok("TagResource", json!({"KeyId": key_id, "Tags": tags}))
        .await;
    let keys: Vec<String> = (0..5).map(|i| format!("tag-{i}")).collect();
    let pages = walk(
        &kinko,
        "ListResourceTags",
        json!({"KeyId": key_id}),
        "Tags",
        "TagKey",
        2,
    )
    .await;
    assert_pages(&pages, &[2, 2, 1], &keys);
    let pages = walk(
        &kinko,
        "ListResourceTags",
        json!({"KeyId": key_id}),
        "Tags",
        "TagKey",
        50,
    )
    .await;
    assert_pages(&pages, &[5], &keys);
}
