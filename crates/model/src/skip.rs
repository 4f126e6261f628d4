//! `--skip-value AXIS=VALUE`: drop a value the box's version does not have (e.g. builds
//! without `tari.mode: off`). The value becomes a constraint (`[AXIS] <> "VALUE"`), so the
//! planner, coverage and the reports treat it like any excluded combination.

use super::{Constraint, Model, expr};

/// Why a value was dropped, as the constraint (and so the reports) carry it.
pub const WHY: &str = "dropped with --skip-value: the box's version does not have this value";

/// Drops `spec` (`AXIS=VALUE`, VALUE a label of the axis) from `model`. Returns the
/// constraint text added, or a message naming what is wrong.
pub fn skip_value(model: &mut Model, spec: &str) -> Result<String, String> {
    let Some((axis, value)) = spec.split_once('=') else {
        return Err(format!("--skip-value takes AXIS=VALUE, got '{spec}'"));
    };
    let (axis, value) = (axis.trim(), value.trim());
    let Some(a) = model.axes.iter().find(|a| a.name == axis) else {
        let known: Vec<&str> = model.axes.iter().map(|a| a.name.as_str()).collect();
        return Err(format!(
            "--skip-value: unknown axis '{axis}'; the model's axes are: {}",
            known.join(", ")
        ));
    };
    if a.value_index(value).is_none() {
        let known: Vec<&str> = a.values.iter().map(|v| v.label.as_str()).collect();
        return Err(format!(
            "--skip-value: '{value}' is not a value of {axis} (its values: {})",
            known.join(", ")
        ));
    }
    let text = format!("[{axis}] <> \"{value}\"");
    let ast = expr::parse(&text).map_err(|e| format!("--skip-value {spec}: {e}"))?;
    let e = expr::resolve(&ast, model.axes.as_slice(), expr::MatchOptions::default())
        .map_err(|e| format!("--skip-value {spec}: {e}"))?;
    model.constraints.push(Constraint {
        text: text.clone(),
        expr: e,
        why: WHY.to_string(),
    });
    Ok(text)
}

/// The values dropped from `model` with [`skip_value`], as `(axis, value)`.
pub fn dropped(model: &Model) -> Vec<(String, String)> {
    model
        .constraints
        .iter()
        .filter(|c| c.why == WHY)
        .filter_map(|c| {
            let (axis, value) = c.text.strip_prefix('[')?.split_once("] <> ")?;
            Some((axis.to_string(), value.trim_matches('"').to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BUILTIN_PITHEAD, load_str};

    fn pithead() -> Model {
        load_str(BUILTIN_PITHEAD, std::path::Path::new("pithead.toml")).unwrap()
    }

    #[test]
    fn a_skipped_value_is_a_constraint_and_unknown_ones_are_refused() {
        let mut m = pithead();
        let before = m.constraints.len();
        assert_eq!(
            skip_value(&mut m, "tari.mode=off").unwrap(),
            r#"[tari.mode] <> "off""#
        );
        assert_eq!(m.constraints.len(), before + 1);
        assert_eq!(dropped(&m), vec![("tari.mode".into(), "off".into())]);
        assert_eq!(m.constraints.last().unwrap().why, WHY);
        assert!(
            skip_value(&mut m, "tari.mode=sideways")
                .unwrap_err()
                .contains("local")
        );
        assert!(
            skip_value(&mut m, "nope=1")
                .unwrap_err()
                .contains("unknown axis")
        );
        assert!(
            skip_value(&mut m, "tari.mode")
                .unwrap_err()
                .contains("AXIS=VALUE")
        );
    }
}
