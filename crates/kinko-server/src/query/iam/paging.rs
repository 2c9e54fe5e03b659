//! IAM's listings in pages: `MaxItems` and `Marker` in, `IsTruncated` and `Marker` out.

use kinko_api::ErrorCode;

use crate::errors::ApiError;
use crate::query::form::Params;
use crate::query::xml::Xml;

/// One page of a name-ordered listing: `MaxItems` (1–1000, default 100) after `Marker`.
pub(super) fn page<T>(
    items: Vec<T>,
    params: &Params,
    name: impl Fn(&T) -> &str,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let max = params.int("MaxItems")?.unwrap_or(100);
    if !(1..=1000).contains(&max) {
        return Err(ApiError::new(
            ErrorCode::ValidationError,
            format!(
                "1 validation error detected: Value '{max}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"
            ),
        ));
    }
    let after = params.get("Marker").map(str::to_ascii_lowercase);
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|i| {
            after
                .as_deref()
                .is_none_or(|m| name(i).to_ascii_lowercase().as_str() > m)
        })
        .collect();
    let max = usize::try_from(max).unwrap_or(100);
    if rest.len() > max {
        rest.truncate(max);
        let marker = rest.last().map(|i| name(i).to_owned());
        Ok((rest, marker))
    } else {
        Ok((rest, None))
    }
}

pub(super) fn paging(x: &mut Xml, marker: Option<String>) {
    match marker {
        Some(m) => {
            x.text("IsTruncated", "true").text("Marker", &m);
        }
        None => {
            x.text("IsTruncated", "false");
        }
    }
}
