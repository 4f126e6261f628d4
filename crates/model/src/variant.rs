//! Versions are data: a model's `[[variant]]` sections name the behaviours that differ between
//! Pithead versions (pithead-model.md's **[drift]** rules: whether `tari.mode: off` exists,
//! whether the clearnet flags are forced off while the egress firewall is on). A variant drops
//! values and named rules and adds its own; the default variant is the model as written, so a
//! run without `--variant` is the run it always was. `load.rs` applies a variant while loading;
//! this module is what the rest of canary asks: which variants exist, which one a model is,
//! the same model under another variant, and which variant a box's own answer points to.

use std::sync::Arc;

use super::Model;
use crate::errors::{ModelError, ModelErrors};

/// A read-only question a box's CLI answers without changing anything. Only these are asked:
/// a model cannot make canary run anything else on a box to detect a variant.
pub const ASKS: [&str; 4] = ["--help", "--version", "help", "version"];

/// How a box shows it is of a variant: its CLI's answer to `ask` (stdout and stderr) has a
/// line equal to `line`, once both are trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detect {
    pub ask: String,
    pub line: String,
}

impl Detect {
    /// Whether `answer` (what the CLI printed for [`Detect::ask`]) shows this variant.
    pub fn matches(&self, answer: &str) -> bool {
        answer.lines().any(|l| l.trim() == self.line.trim())
    }
}

/// Why a value is dropped under a variant, as its constraint (and so the reports) carry it.
pub fn dropped_why(variant: &str) -> String {
    format!("{VARIANT_WHY} '{variant}' does not have this value")
}

/// The start of [`dropped_why`]: [`super::skip::dropped`] finds these constraints by it.
pub const VARIANT_WHY: &str = "dropped by the variant";

/// One named variant of a model, as declared (its changes are applied by the loader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub name: String,
    /// One line saying which versions behave this way.
    pub help: String,
    /// The model as written (exactly one variant of a model that declares any).
    pub default: bool,
    /// How a box shows it is of this variant, when it can.
    pub detect: Option<Detect>,
}

/// The variants of a model and the text they are derived from, kept so the same model can be
/// loaded under another variant (a regression replays under the variant it was found with).
#[derive(Debug, Clone, PartialEq)]
pub struct Variants {
    pub list: Vec<Variant>,
    pub text: Arc<str>,
}

impl Model {
    /// The variant this model is (`None` for a model without `[[variant]]` sections).
    pub fn variant_name(&self) -> Option<&str> {
        (!self.variant.is_empty()).then_some(self.variant.as_str())
    }

    /// The name of the model's default variant.
    pub fn default_variant(&self) -> Option<&str> {
        self.variants
            .as_ref()?
            .list
            .iter()
            .find(|v| v.default)
            .map(|v| v.name.as_str())
    }

    /// Whether this model is its default variant (or has none).
    pub fn is_default_variant(&self) -> bool {
        self.variant_name() == self.default_variant()
    }

    /// This model under the variant `name` (`None`: the default), from the same source text.
    /// Values dropped with `--skip-value` stay dropped. Unknown name: an error listing the
    /// known ones.
    pub fn with_variant(&self, name: Option<&str>) -> Result<Model, ModelErrors> {
        let want = name.or(self.default_variant());
        if want == self.variant_name() {
            return Ok(self.clone());
        }
        let Some(variants) = &self.variants else {
            return Err(unknown(&self.source, name.unwrap_or(""), &[]));
        };
        let mut m = super::load::load_checked(&variants.text, &self.source, want, false)?;
        for c in &self.constraints {
            if c.why == super::skip::WHY {
                m.constraints.push(c.clone());
            }
        }
        Ok(m)
    }

    /// The variant names, the default marked, for messages.
    pub fn variant_list(&self) -> String {
        list(self.variants.as_ref().map_or(&[][..], |v| &v.list))
    }
}

/// The model's variants for `canary model`: one line each, the one in effect marked `>`.
pub fn describe(model: &Model) -> String {
    let Some(v) = &model.variants else {
        return String::new();
    };
    let mut out = String::from("variants (choose with --variant NAME; a box run detects it):\n");
    for x in &v.list {
        let mark = if x.name == model.variant { '>' } else { ' ' };
        let default = if x.default { " (default)" } else { "" };
        out.push_str(&format!("{mark} {:<18} {}{default}\n", x.name, x.help));
        if let Some(d) = &x.detect {
            out.push_str(&format!(
                "  {:<18} detected when `pithead {}` prints \"{}\"\n",
                "", d.ask, d.line
            ));
        }
    }
    out
}

pub(super) fn list(variants: &[Variant]) -> String {
    if variants.is_empty() {
        return "(none: the model has no [[variant]] sections)".into();
    }
    variants
        .iter()
        .map(|v| {
            if v.default {
                format!("{} (default)", v.name)
            } else {
                v.name.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The error for a variant the model does not declare.
pub(super) fn unknown(file: &std::path::Path, name: &str, variants: &[Variant]) -> ModelErrors {
    ModelErrors(vec![ModelError {
        file: file.to_path_buf(),
        line: None,
        message: format!("unknown variant '{name}'"),
        hint: format!("the model's variants are: {}", list(variants)),
    }])
}

/// What a box's answers said about its variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    /// Exactly one variant's line was in the box's answer.
    One(String),
    /// Several were (the model's detect lines overlap).
    Ambiguous(Vec<String>),
    /// None was, or the model declares no detect lines.
    Unknown,
}

/// Which variant the answers point to; `answer(ask)` is the CLI's output for one question
/// (`None` when it could not be asked).
pub fn detect(variants: &[Variant], mut answer: impl FnMut(&str) -> Option<String>) -> Detected {
    let mut asked: Vec<(String, Option<String>)> = Vec::new();
    let mut hits = Vec::new();
    for v in variants {
        let Some(d) = &v.detect else { continue };
        let said = match asked.iter().find(|(a, _)| *a == d.ask) {
            Some((_, s)) => s.clone(),
            None => {
                let s = answer(&d.ask);
                asked.push((d.ask.clone(), s.clone()));
                s
            }
        };
        if said.is_some_and(|s| d.matches(&s)) {
            hits.push(v.name.clone());
        }
    }
    match hits.len() {
        0 => Detected::Unknown,
        1 => Detected::One(hits.remove(0)),
        _ => Detected::Ambiguous(hits),
    }
}

/// The variant a box run uses: an explicit `--variant` wins (with a warning when the box
/// answered like another one), else the detected one, else the default. Returns the name
/// (`None`: the default) and the lines to print.
pub fn choose(
    model: &Model,
    explicit: Option<&str>,
    detected: &Detected,
) -> (Option<String>, Vec<String>) {
    let default = model.default_variant().unwrap_or("");
    match (explicit, detected) {
        (Some(e), Detected::One(d)) if e != d => (
            Some(e.to_string()),
            vec![format!(
                "warning: --variant {e} was given, but the box answers like variant '{d}'; \
                 running as {e}"
            )],
        ),
        (Some(e), _) => (
            Some(e.to_string()),
            vec![format!("variant {e} (given with --variant)")],
        ),
        (None, Detected::One(d)) => (
            Some(d.clone()),
            vec![format!(
                "variant {d} (detected: the box's CLI answers like it)"
            )],
        ),
        (None, Detected::Ambiguous(names)) => (
            None,
            vec![format!(
                "warning: the box answers like several variants ({}); running as the default \
                 {default}: give --variant",
                names.join(", ")
            )],
        ),
        (None, Detected::Unknown) => (
            None,
            vec![format!(
                "variant {default} (default: the box does not say which variant it is)"
            )],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BUILTIN_PITHEAD, load_str};

    fn pithead() -> Model {
        load_str(BUILTIN_PITHEAD, std::path::Path::new("pithead.toml")).unwrap()
    }

    #[test]
    fn the_builtin_model_is_its_default_variant() {
        let m = pithead();
        assert_eq!(m.variant_name(), m.default_variant());
        assert!(m.is_default_variant());
        assert!(m.variant_list().contains("(default)"));
        let again = m.with_variant(None).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn an_unknown_variant_lists_the_known_ones() {
        let e = pithead().with_variant(Some("sideways")).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("unknown variant 'sideways'"), "{s}");
        assert!(s.contains("no-tari-off"), "{s}");
    }

    #[test]
    fn skipped_values_survive_a_variant_switch() {
        let mut m = pithead();
        crate::skip::skip_value(&mut m, "p2pool.pool=nano").unwrap();
        let v = m.with_variant(Some("no-tari-off")).unwrap();
        assert!(crate::skip::dropped(&v).contains(&("p2pool.pool".into(), "nano".into())));
        assert_eq!(v.variant_name(), Some("no-tari-off"));
    }

    #[test]
    fn detection_asks_each_question_once_and_names_the_one_that_matches() {
        let m = pithead();
        let list = &m.variants.as_ref().unwrap().list;
        let mut asked = Vec::new();
        let d = detect(list, |ask| {
            asked.push(ask.to_string());
            Some("usage: pithead ...\n  tari.mode: local|remote\n".into())
        });
        assert_eq!(d, Detected::One("no-tari-off".into()));
        asked.sort();
        asked.dedup();
        assert_eq!(asked.len(), 1, "{asked:?}");
        assert_eq!(
            detect(list, |_| Some("usage: pithead\n".into())),
            Detected::Unknown
        );
        assert_eq!(detect(list, |_| None), Detected::Unknown);
    }

    #[test]
    fn an_explicit_variant_wins_with_a_warning() {
        let m = pithead();
        let (v, said) = choose(&m, Some("newest"), &Detected::One("no-tari-off".into()));
        assert_eq!(v.as_deref(), Some("newest"));
        assert!(said[0].starts_with("warning:"), "{said:?}");
        let (v, said) = choose(&m, None, &Detected::One("no-tari-off".into()));
        assert_eq!(v.as_deref(), Some("no-tari-off"));
        assert!(said[0].contains("detected"), "{said:?}");
        let (v, _) = choose(&m, None, &Detected::Unknown);
        assert_eq!(v, None);
    }
}
