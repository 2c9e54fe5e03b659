//! HTML markup shared by the console's pages and the compliance report: escaping, and a table
//! with a caption and header cells. A leaf: it imports nothing of the crate.

/// Escapes text for an HTML element or a quoted attribute.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table with a caption, header cells and rows (cells already HTML), or `empty` when there are
/// no rows.
pub(crate) fn table(
    id: &str,
    caption: &str,
    head: &[&str],
    rows: &[Vec<String>],
    empty: &str,
) -> String {
    if rows.is_empty() {
        return format!("<p class=\"empty\" id=\"{id}-empty\">{}</p>", esc(empty));
    }
    let mut out = format!(
        "<table id=\"{id}\"><caption>{}</caption><thead><tr>",
        esc(caption)
    );
    for h in head {
        out.push_str(&format!("<th scope=\"col\">{}</th>", esc(h)));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            out.push_str(&format!("<td>{cell}</td>"));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}
