//! Shared copies of texts that many cached records repeat: every key an account creates with the
//! default policy carries the same document, so the key cache holds it once, not once per key
//! (issue #20: resident memory with 100,000 keys).

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

/// Texts held for sharing before the ones no record uses any more are dropped.
const MAX_TEXTS: usize = 10_000;

/// A set of shared texts. A text is kept while a record holds it; the set is pruned when it
/// grows past [`MAX_TEXTS`].
#[derive(Debug, Default)]
pub(crate) struct Interner {
    texts: RwLock<HashSet<Arc<str>>>,
}

impl Interner {
    /// The shared copy of `text`, which becomes the shared copy if there is none.
    pub(crate) fn intern(&self, text: &Arc<str>) -> Arc<str> {
        if let Some(shared) = self.texts.read().ok().and_then(|s| s.get(&**text).cloned()) {
            return shared;
        }
        let Ok(mut texts) = self.texts.write() else {
            return text.clone();
        };
        if let Some(shared) = texts.get(&**text) {
            return shared.clone();
        }
        if texts.len() >= MAX_TEXTS {
            // Only the set itself holds these.
            texts.retain(|t| Arc::strong_count(t) > 1);
        }
        texts.insert(text.clone());
        text.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_share_one_allocation() {
        let interner = Interner::default();
        let a: Arc<str> = Arc::from("{\"Version\":\"2012-10-17\"}");
        let b: Arc<str> = Arc::from("{\"Version\":\"2012-10-17\"}");
        assert!(!Arc::ptr_eq(&a, &b));
        let (a2, b2) = (interner.intern(&a), interner.intern(&b));
        assert!(Arc::ptr_eq(&a2, &b2));
        assert!(Arc::ptr_eq(&a2, &a));
        let other = interner.intern(&Arc::from("other"));
        assert!(!Arc::ptr_eq(&other, &a2));
        assert_eq!(&*other, "other");
    }

    #[test]
    fn texts_no_record_holds_are_dropped_when_the_set_is_full() {
        let interner = Interner::default();
        let kept = interner.intern(&Arc::from("kept"));
        for n in 0..MAX_TEXTS {
            // Each held only by the set once this statement ends.
            interner.intern(&Arc::from(format!("text {n}").as_str()));
        }
        let len = interner.texts.read().map(|t| t.len()).unwrap_or(0);
        assert!(len <= 2, "pruned to the texts still held, got {len}");
        assert!(Arc::ptr_eq(&interner.intern(&Arc::from("kept")), &kept));
    }
}
