//! What the sims of one thread work out from a config.json document, kept by document: its
//! parse and its render.
//!
//! The runner hands a sim the same `Arc` for the same config (its walk cache), and the
//! fuzzer, the shrinker and the step-loop bench start a fresh sim for every walk while keeping
//! that cache. A memo per sim parsed and rendered every document again on each walk (about a
//! fifth of a warm step's instructions); one per thread does it once. Both are pure: the parse
//! of the document alone, the render of the parse, the preserved secrets and the render faults
//! (the memo's key), so sharing them between sims changes no outcome. A render that reads the
//! .env on disk (#746's fault) is never kept.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::config::{Settings, parse};
use super::render::{Env, Preserved, RenderFaults, render};

/// Entries kept before the memo is pruned (to the documents someone else still holds).
const DOCS: usize = 1024;

/// A document, what [`parse`] made of it, and its last render.
struct Entry {
    /// Held, so nobody changes it in place and its address is not reused while it stands.
    doc: Arc<Value>,
    settings: Arc<Result<Settings, String>>,
    rendered: Option<(Preserved, RenderFaults, Arc<Env>)>,
}

/// Parses and renders by shared document.
#[derive(Default)]
pub(crate) struct DocMemo {
    by_doc: HashMap<usize, Entry>,
}

thread_local! {
    static MEMO: RefCell<DocMemo> = RefCell::default();
}

/// [`parse`] of `doc`, computed once per document on this thread.
pub(crate) fn parse_shared(doc: &Arc<Value>) -> Arc<Result<Settings, String>> {
    MEMO.with_borrow_mut(|m| Arc::clone(&m.entry(doc).settings))
}

/// [`render`] of `doc`'s settings (which must parse), computed once per document, preserved
/// secrets and faults on this thread; `previous` is the .env on disk.
pub(crate) fn render_shared(
    doc: &Arc<Value>,
    settings: &Settings,
    preserved: &Preserved,
    previous: &Env,
    faults: RenderFaults,
) -> Arc<Env> {
    if faults.stale_mini {
        return Arc::new(render(settings, preserved, Some(previous), faults));
    }
    MEMO.with_borrow_mut(|m| m.render(doc, settings, preserved, faults))
}

impl DocMemo {
    fn entry(&mut self, doc: &Arc<Value>) -> &mut Entry {
        let key = Arc::as_ptr(doc) as usize;
        let hit = self
            .by_doc
            .get(&key)
            .is_some_and(|e| Arc::ptr_eq(&e.doc, doc));
        if !hit {
            if self.by_doc.len() >= DOCS {
                // Documents only the memo holds will not come back: drop them first.
                self.by_doc.retain(|_, e| Arc::strong_count(&e.doc) > 1);
                if self.by_doc.len() >= DOCS / 2 {
                    self.by_doc.clear();
                }
            }
            self.by_doc.insert(
                key,
                Entry {
                    doc: Arc::clone(doc),
                    settings: Arc::new(parse(doc)),
                    rendered: None,
                },
            );
        }
        self.by_doc.get_mut(&key).expect("present or inserted")
    }

    fn render(
        &mut self,
        doc: &Arc<Value>,
        settings: &Settings,
        preserved: &Preserved,
        faults: RenderFaults,
    ) -> Arc<Env> {
        let entry = self.entry(doc);
        if let Some((p, f, env)) = &entry.rendered
            && p == preserved
            && *f == faults
        {
            return Arc::clone(env);
        }
        let env = Arc::new(render(settings, preserved, None, faults));
        entry.rendered = Some((preserved.clone(), faults, Arc::clone(&env)));
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{baseline, tests::set};
    use crate::render::tests::preserved_with as preserved;
    use serde_json::json;

    /// The memo answers for the very document it parsed (never for another at the same
    /// address or with the same text), gives the same answer as a parse, and stays bounded.
    #[test]
    fn parses_are_keyed_by_document_and_bounded() {
        let mut memo = DocMemo::default();
        let doc = Arc::new(baseline());
        let first = Arc::clone(&memo.entry(&doc).settings);
        assert!(Arc::ptr_eq(&first, &memo.entry(&doc).settings));
        assert_eq!(*first, parse(&doc));
        let bad = Arc::new(set("p2pool.pool", json!("mega")));
        assert_eq!(*memo.entry(&bad).settings, parse(&bad));
        let twin = Arc::new(baseline());
        assert!(!Arc::ptr_eq(&first, &memo.entry(&twin).settings));
        // Documents only the memo holds are pruned; one the caller holds survives.
        for i in 0..2 * DOCS {
            memo.entry(&Arc::new(set("proxy.donate_level", json!(i % 100))));
            assert!(memo.by_doc.len() <= DOCS);
        }
        assert!(Arc::ptr_eq(&first, &memo.entry(&doc).settings));
    }

    /// A kept render is the render of the same document, secrets and faults; other secrets or
    /// faults render again.
    #[test]
    fn renders_are_keyed_by_secrets_and_faults() {
        let mut memo = DocMemo::default();
        let doc = Arc::new(set("p2pool.pool", json!("main")));
        let settings = parse(&doc).unwrap();
        let none = RenderFaults::default();
        let a = memo.render(&doc, &settings, &preserved("a"), none);
        assert_eq!(*a, render(&settings, &preserved("a"), None, none));
        assert!(Arc::ptr_eq(
            &a,
            &memo.render(&doc, &settings, &preserved("a"), none)
        ));
        let b = memo.render(&doc, &settings, &preserved("b"), none);
        assert_eq!(*b, render(&settings, &preserved("b"), None, none));
        assert_ne!(a, b);
        let faulty = RenderFaults {
            raw_clearnet: true,
            tari_required_ignores_off: true,
            ..none
        };
        let f = memo.render(&doc, &settings, &preserved("b"), faulty);
        assert_eq!(*f, render(&settings, &preserved("b"), None, faulty));
    }
}
