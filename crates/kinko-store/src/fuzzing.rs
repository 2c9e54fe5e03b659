//! Entry point for the `backup` fuzz target in `fuzz/` (not an API; hidden from the docs). A
//! backup is the SQLite database file; SQLite reads the file, and Kinko's own code reads what
//! SQLite hands it: the columns of each row ([`crate::rows`]) and the stored audit batches
//! ([`crate::audit_codec`]). This runs those readers over arbitrary values.

use std::cell::Cell;

use kinko_core::StoreError;

use crate::rows::{self, Columns, corrupt};

/// Decodes arbitrary column values as every kind of stored row, and `data` as an audit batch.
pub fn decode_backup_values(data: &[u8]) {
    let _ = crate::audit_codec::decode("fuzz-chain", data);
    let row = Row {
        data,
        at: Cell::new(0),
    };
    let _ = rows::account(&row);
    let _ = rows::key(&row);
    let _ = rows::access_key(&row);
    let _ = rows::material(&row);
    let _ = rows::import_parameters(&row);
    let _ = rows::alias(&row);
    let _ = rows::tag(&row);
    let _ = rows::digest(&row);
    let _ = rows::grant(&row);
    let _ = rows::iam_user(&row);
    let _ = rows::iam_role(&row);
    let _ = rows::inline_policy(&row);
    let _ = rows::session(&row);
}

/// A row whose columns are read, in the order asked, from the fuzz input: a tag byte (even:
/// NULL), then for text and blobs a length byte and the bytes, for integers 8 bytes.
struct Row<'a> {
    data: &'a [u8],
    at: Cell<usize>,
}

impl Row<'_> {
    fn take(&self, n: usize) -> Option<&[u8]> {
        let at = self.at.get();
        let out = self.data.get(at..at.checked_add(n)?)?;
        self.at.set(at + n);
        Some(out)
    }

    /// `None` for NULL (or the end of the input), else the value's bytes.
    fn value(&self, fixed: Option<usize>) -> Option<&[u8]> {
        let tag = *self.take(1)?.first()?;
        if tag % 2 == 0 {
            return None;
        }
        let n = match fixed {
            Some(n) => n,
            None => usize::from(*self.take(1)?.first()?),
        };
        self.take(n)
    }

    fn opt_string(&self, table: &str, column: &str) -> Result<Option<String>, StoreError> {
        self.value(None)
            .map(|b| String::from_utf8(b.to_vec()).map_err(|_| corrupt(table, column)))
            .transpose()
    }

    fn opt_i64(&self) -> Option<i64> {
        self.value(Some(8))
            .and_then(|b| b.try_into().ok())
            .map(i64::from_be_bytes)
    }
}

impl Columns for Row<'_> {
    fn text(&self, table: &str, column: &str) -> Result<String, StoreError> {
        self.opt_string(table, column)?
            .ok_or_else(|| corrupt(table, column))
    }
    fn opt_text(&self, table: &str, column: &str) -> Result<Option<String>, StoreError> {
        self.opt_string(table, column)
    }
    fn int(&self, table: &str, column: &str) -> Result<i64, StoreError> {
        self.opt_i64().ok_or_else(|| corrupt(table, column))
    }
    fn opt_int(&self, _table: &str, _column: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.opt_i64())
    }
    fn bytes(&self, table: &str, column: &str) -> Result<Vec<u8>, StoreError> {
        self.value(None)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| corrupt(table, column))
    }
    fn flag(&self, table: &str, column: &str) -> Result<bool, StoreError> {
        self.opt_i64()
            .map(|n| n != 0)
            .ok_or_else(|| corrupt(table, column))
    }
}
