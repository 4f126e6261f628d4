//! The `plan` event read for the reports: axes, baseline, strength and coverage; the walk
//! (thousands of steps on a long run) only counted, never built.

use serde::Deserialize;

use super::{Effective, Names, PlanDigest, label};
use crate::journal::Labels;

#[derive(Deserialize)]
pub(super) struct PlanEventIn {
    #[serde(default)]
    pub(super) plan: PlanIn,
}

/// The parts of the plan the reports use. The walk (thousands of steps on a long run) is
/// only counted, never built.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PlanIn {
    axes: Option<serde_json::Value>,
    baseline: Option<serde_json::Value>,
    walk: Option<Count>,
    transitions: Option<serde_json::Value>,
    strength: Option<serde_json::Value>,
    coverage: serde_json::Value,
}

/// The length of a JSON list, its items skipped (`None` for anything but a list).
struct Count(Option<usize>);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of steps")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(Some(n)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Count, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Count(None))
            }
            fn visit_unit<E>(self) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Count, E> {
                Ok(Count(None))
            }
        }
        d.deserialize_any(Visit)
    }
}

pub(super) fn plan_digest(plan: PlanIn, names: &mut Names) -> Result<PlanDigest, String> {
    let mut out = PlanDigest::default();
    if let Some(axes) = plan.axes {
        let Some(map) = axes.as_object() else {
            return Err("bad `plan` event: `axes` is not an object".to_string());
        };
        for (name, values) in map {
            let values = match values {
                serde_json::Value::Array(vs) => vs.iter().map(label).collect(),
                _ => {
                    return Err(format!(
                        "bad `plan` event: the values of axis `{name}` are not a list"
                    ));
                }
            };
            out.axes.push((name.clone(), values));
        }
    }
    out.baseline = plan.baseline.as_ref().and_then(|b| {
        // Either the labels themselves or `{config, effective}`.
        b.get("effective")
            .and_then(labels)
            .or_else(|| labels(b).filter(|l| !l.contains_key("effective")))
            .map(|l| Effective::from_labels(l, names))
    });
    out.planned_steps = plan.walk.and_then(|w| w.0);
    out.transitions = plan.transitions.and_then(|t| t.as_bool());
    out.strength = plan
        .strength
        .as_ref()
        .or_else(|| plan.coverage.get("strength"))
        .and_then(|s| s.as_u64())
        .map(|s| s as usize);
    out.coverage = plan.coverage;
    Ok(out)
}

fn labels(v: &serde_json::Value) -> Option<Labels> {
    let map = v.as_object()?;
    Some(map.iter().map(|(k, v)| (k.clone(), label(v))).collect())
}
