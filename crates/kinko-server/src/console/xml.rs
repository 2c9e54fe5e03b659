//! Reading IAM's XML answers, just enough for the console: the `<member>` items of a list and
//! the text of an element. IAM's answers are Kinko's own (`query::xml`), so this reads a known
//! shape, not arbitrary XML.

/// The text of the first `<name>` element in `xml`, unescaped.
pub fn text(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(unescape(&xml[start..end]))
}

/// The `<member>` items inside the first `<list>` element.
pub fn members<'a>(xml: &'a str, list: &str) -> Vec<&'a str> {
    let open = format!("<{list}>");
    let close = format!("</{list}>");
    let Some(start) = xml.find(&open).map(|i| i + open.len()) else {
        return Vec::new();
    };
    let Some(end) = xml[start..].find(&close).map(|i| i + start) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut rest = &xml[start..end];
    while let Some(i) = rest.find("<member>") {
        let body = &rest[i + 8..];
        let Some(j) = body.find("</member>") else {
            break;
        };
        out.push(&body[..j]);
        rest = &body[j + 9..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_text_are_read() {
        let xml = "<R><Users><member><UserName>a&amp;b</UserName></member><member><UserName>c</UserName></member></Users><IsTruncated>false</IsTruncated></R>";
        let users = members(xml, "Users");
        assert_eq!(users.len(), 2);
        assert_eq!(text(users[0], "UserName").as_deref(), Some("a&b"));
        assert_eq!(text(xml, "IsTruncated").as_deref(), Some("false"));
        assert!(members(xml, "Roles").is_empty());
        assert_eq!(text(xml, "Nope"), None);
    }
}
