//! A model's `[[variant]]`s: the declared list checked, and one applied to the raw model
//! before it is built.

use super::*;

/// The declared variants: unique names, one default (which changes nothing), detect
/// questions canary may ask, includes that exist.
pub(super) fn variants(
    raw: &RawModel,
    text: &str,
    path: &Path,
) -> Result<Vec<Variant>, ModelErrors> {
    let mut cx = Ctx {
        file: path.to_path_buf(),
        text,
        errors: vec![],
        rejected_axes: BTreeSet::new(),
    };
    let mut list: Vec<Variant> = Vec::new();
    for rv in &raw.variant {
        let at = rv.span().start;
        let v = rv.get_ref();
        if v.name.trim().is_empty() || v.name.contains(char::is_whitespace) {
            cx.error(
                at,
                "a variant needs a one-word name",
                "e.g. name = \"no-tari-off\"",
            );
        }
        if list.iter().any(|x| x.name == v.name) {
            cx.error(
                at,
                format!("duplicate variant '{}'", v.name),
                "rename or remove one",
            );
        }
        let changes = !(v.drop.is_empty()
            && v.drop_values.is_empty()
            && v.include.is_empty()
            && v.gate.is_empty()
            && v.constraint.is_empty()
            && v.normalise.is_empty()
            && v.env.is_empty()
            && v.api.is_empty()
            && v.operation.is_empty());
        if v.default && changes {
            cx.error(
                at,
                format!("the default variant '{}' changes the model", v.name),
                "the default variant is the model as written: move its changes into the model",
            );
        }
        if let Some(d) = &v.detect {
            if !variant::ASKS.contains(&d.ask.as_str()) {
                cx.error(
                    at,
                    format!("variant '{}' detects with `{}`", v.name, d.ask),
                    format!(
                        "a box is only asked read-only questions: one of {}",
                        variant::ASKS.join(", ")
                    ),
                );
            }
            if d.line.trim().is_empty() {
                cx.error(
                    at,
                    format!("variant '{}' detects an empty line", v.name),
                    "give the line the CLI prints",
                );
            }
        }
        list.push(Variant {
            name: v.name.clone(),
            help: v.help.clone(),
            default: v.default,
            detect: v.detect.as_ref().map(|d| variant::Detect {
                ask: d.ask.clone(),
                line: d.line.clone(),
            }),
        });
    }
    for rv in &raw.variant {
        for inc in &rv.get_ref().include {
            if !list.iter().any(|x| &x.name == inc) {
                cx.error(
                    rv.span().start,
                    format!(
                        "variant '{}' includes unknown variant '{inc}'",
                        rv.get_ref().name
                    ),
                    format!("the model's variants are: {}", variant::list(&list)),
                );
            }
        }
    }
    let defaults = list.iter().filter(|v| v.default).count();
    if !list.is_empty() && defaults != 1 {
        cx.error(
            raw.variant[0].span().start,
            format!("{defaults} variants are marked default = true"),
            "mark exactly one: the model as written",
        );
    }
    if cx.errors.is_empty() {
        Ok(list)
    } else {
        Err(ModelErrors(cx.errors))
    }
}

/// The variants `name` stands for, includes first, each once (a cycle is cut).
fn resolve_includes(raw: &[Spanned<RawVariant>], name: &str, out: &mut Vec<String>) {
    if out.iter().any(|n| n == name) {
        return;
    }
    out.push(name.to_string());
    if let Some(v) = raw.iter().find(|v| v.get_ref().name == name) {
        for inc in v.get_ref().include.clone() {
            resolve_includes(raw, &inc, out);
        }
    }
}

/// Applies the variant `name` to the raw model: its drops, then its additions. Returns the
/// dropped values as `(offset, axis, value, variant)`, made constraints once axes are known.
pub(super) fn apply_variant(
    cx: &mut Ctx,
    raw: &mut RawModel,
    name: &str,
) -> Vec<(usize, String, toml::Value, String)> {
    let mut names = Vec::new();
    resolve_includes(&raw.variant, name, &mut names);
    let mut taken: Vec<Spanned<RawVariant>> = std::mem::take(&mut raw.variant);
    let mut dropped_values = Vec::new();
    for n in names.iter().rev() {
        let Some(i) = taken.iter().position(|v| &v.get_ref().name == n) else {
            continue;
        };
        let rv = taken.remove(i);
        let at = rv.span().start;
        let v = rv.into_inner();
        for d in &v.drop {
            let gone = match d.split_once(':') {
                Some(("constraint", x)) => {
                    remove(&mut raw.constraint, |c| c.name.as_deref() == Some(x))
                }
                Some(("normalise", x)) => {
                    remove(&mut raw.normalise, |c| c.name.as_deref() == Some(x))
                }
                Some(("operation", x)) => remove(&mut raw.operation, |o| o.name == x),
                Some(("gate", x)) => remove(&mut raw.gate, |g| {
                    format!("{}={}", g.axis, label_of(&toml_to_json(&g.value))) == x
                }),
                Some(("env", x)) => raw.env.remove(x).is_some(),
                Some(("api", x)) => raw.api.remove(x).is_some(),
                _ => {
                    cx.error(
                        at,
                        format!("variant '{}' drops '{d}', which is not KIND:NAME", v.name),
                        "KIND is constraint, normalise, gate (gate:AXIS=VALUE), env, api or operation",
                    );
                    true
                }
            };
            if !gone {
                cx.error(
                    at,
                    format!(
                        "variant '{}' drops '{d}', which the model does not have",
                        v.name
                    ),
                    "give the rule a `name` and drop it by that name (gates by AXIS=VALUE)",
                );
            }
        }
        for (axis, values) in v.drop_values {
            for value in values {
                dropped_values.push((at, axis.clone(), value, v.name.clone()));
            }
        }
        raw.gate.extend(v.gate);
        raw.constraint.extend(v.constraint);
        raw.normalise.extend(v.normalise);
        raw.operation.extend(v.operation);
        raw.env.extend(v.env);
        raw.api.extend(v.api);
    }
    dropped_values
}

fn remove<T>(list: &mut Vec<Spanned<T>>, hit: impl Fn(&T) -> bool) -> bool {
    let before = list.len();
    list.retain(|x| !hit(x.get_ref()));
    list.len() < before
}
