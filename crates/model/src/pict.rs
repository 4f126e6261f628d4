//! Reading Microsoft PICT model files: parameter lines `Name: v1, v2, ...` followed by
//! constraints in PICT's language (`IF [A] = "x" THEN [B] <> "y";`).
//!
//! Supported beyond the basics: value aliases (`a | b`, the first name is used), weights
//! (`a (10)`, ignored: canary covers, it does not sample), negative values (`~a`, treated as
//! ordinary values) and `#` comments. Sub-models and parameter references are refused with a
//! clear error rather than misread.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::expr::{self, MatchOptions};
use super::{Axis, AxisValue, Constraint, Model, SubModel};
use crate::errors::{ModelError, ModelErrors};

/// Loads a PICT model file.
pub fn load_pict_file(path: &Path) -> Result<Model, ModelErrors> {
    let text =
        canary_core::files::read_capped(path, canary_core::files::INPUT_CAP).map_err(|e| {
            ModelErrors(vec![ModelError {
                file: path.to_path_buf(),
                line: None,
                message: format!("cannot read the PICT model: {e}"),
                hint: "check the path given to --pict".into(),
            }])
        })?;
    load_pict_str(&text, path)
}

fn looks_like_constraint(line: &str) -> bool {
    let t = line.trim_start();
    let upper = t.to_ascii_uppercase();
    t.starts_with('[')
        || t.starts_with('(')
        || upper.starts_with("IF ")
        || upper.starts_with("IF[")
        || upper.starts_with("NOT ")
}

fn parse_value(raw: &str) -> String {
    let mut v = raw.trim();
    if let Some(stripped) = v.strip_prefix('~') {
        v = stripped.trim();
    }
    // A trailing "(N)" is a weight.
    if v.ends_with(')')
        && let Some(open) = v.rfind('(')
        && v[open + 1..v.len() - 1]
            .trim()
            .chars()
            .all(|c| c.is_ascii_digit())
    {
        v = v[..open].trim_end();
    }
    v.split('|').next().unwrap_or("").trim().to_string()
}

/// Loads a PICT model from text; `path` names it in messages.
pub fn load_pict_str(text: &str, path: &Path) -> Result<Model, ModelErrors> {
    let mut errors = Vec::new();
    let err = |line: usize, message: String, hint: &str| ModelError {
        file: path.to_path_buf(),
        line: Some(line),
        message,
        hint: hint.to_string(),
    };
    let mut axes: Vec<Axis> = Vec::new();
    // Parameters already reported and left out: a constraint naming one is not a second error.
    let mut rejected: Vec<String> = Vec::new();
    let mut constraint_start: Option<(usize, usize)> = None; // (line number, byte offset)
    let mut raw_subs: Vec<(usize, Vec<String>, usize)> = Vec::new();
    let mut offset = 0;
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        let here = offset;
        offset += line.len() + 1;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if looks_like_constraint(t) {
            constraint_start = Some((lineno, here));
            break;
        }
        if let Some(body) = t.strip_prefix('{') {
            // `{ A, B, C } @ 3`: names resolved once every parameter is known.
            let parsed = body.split_once('}').and_then(|(names, rest)| {
                let n = rest
                    .trim()
                    .strip_prefix('@')?
                    .trim()
                    .parse::<usize>()
                    .ok()?;
                let names: Vec<String> = names
                    .split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect();
                Some((names, n))
            });
            match parsed {
                Some((names, n)) => raw_subs.push((lineno, names, n)),
                None => errors.push(err(
                    lineno,
                    format!("expected a sub-model '{{ A, B, C }} @ N', found '{t}'"),
                    "list parameters in braces, then @ and the strength",
                )),
            }
            continue;
        }
        let Some((name, values)) = t.split_once(':') else {
            errors.push(err(
                lineno,
                format!("expected 'Name: value, value, ...', found '{t}'"),
                "parameters are 'Name: v1, v2'; constraints start with IF or [",
            ));
            continue;
        };
        let name = name.trim().to_string();
        if name.is_empty() {
            errors.push(err(
                lineno,
                "a parameter has an empty name".into(),
                "write 'Name: v1, v2'",
            ));
            continue;
        }
        if axes.iter().any(|a| a.name == name) {
            errors.push(err(
                lineno,
                format!("duplicate parameter '{name}'"),
                "each parameter name must be unique",
            ));
            continue;
        }
        if values.trim().is_empty() {
            errors.push(err(
                lineno,
                format!("parameter '{name}' has no values"),
                "list at least one value: 'Name: v1, v2'",
            ));
            rejected.push(name);
            continue;
        }
        let mut vals: Vec<AxisValue> = Vec::new();
        for raw in values.split(',') {
            if raw.trim().starts_with('<') {
                errors.push(err(
                    lineno,
                    format!("parameter references ('{}') are not supported", raw.trim()),
                    "list the values explicitly",
                ));
                continue;
            }
            let label = parse_value(raw);
            if label.is_empty() {
                errors.push(err(
                    lineno,
                    format!("parameter '{name}' has an empty value"),
                    "remove the stray comma",
                ));
                continue;
            }
            if vals.iter().any(|v| v.label.eq_ignore_ascii_case(&label)) {
                errors.push(err(
                    lineno,
                    format!("parameter '{name}' lists '{label}' twice"),
                    "remove the duplicate",
                ));
                continue;
            }
            let json = label
                .parse::<i64>()
                .map(serde_json::Value::from)
                .or_else(|_| label.parse::<f64>().map(serde_json::Value::from))
                .unwrap_or_else(|_| serde_json::Value::String(label.clone()));
            vals.push(AxisValue { label, json });
        }
        if vals.is_empty() {
            rejected.push(name);
            continue;
        }
        axes.push(Axis {
            path: name.clone(),
            name,
            values: vals,
            default: 0,
            cold: false,
        });
    }
    let mut constraints = Vec::new();
    if let Some((first_line, start)) = constraint_start {
        // Strip comments line by line, keeping offsets for line numbers.
        let block: String = text[start..]
            .lines()
            .map(|l| {
                if l.trim_start().starts_with('#') {
                    ""
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        for (off, stmt) in expr::split_statements(&block) {
            let lead = stmt.len() - stmt.trim_start().len();
            let line = first_line + block[..off + lead].matches('\n').count();
            match expr::parse(stmt) {
                Err(e) => errors.push(err(
                    line,
                    format!("constraint does not parse: {e}"),
                    "PICT constraints look like IF [A] = \"x\" THEN [B] <> \"y\";",
                )),
                Ok(ast) => match expr::resolve(
                    &ast,
                    axes.as_slice(),
                    MatchOptions {
                        case_insensitive: true,
                    },
                ) {
                    Err(e) => {
                        let lower = e.to_lowercase();
                        let consequence = rejected.iter().any(|r| {
                            lower.contains(&format!("unknown axis [{}]", r.to_lowercase()))
                        });
                        if !consequence {
                            errors.push(err(line, e, "fix the parameter or value name"));
                        }
                    }
                    Ok(e) => constraints.push(Constraint {
                        text: stmt.trim().to_string(),
                        expr: e,
                        why: String::new(),
                    }),
                },
            }
        }
    }
    if axes.is_empty() && errors.is_empty() {
        errors.push(ModelError {
            file: path.to_path_buf(),
            line: None,
            message: "the PICT model has no parameters".into(),
            hint: "add lines like 'Name: v1, v2'".into(),
        });
    }
    let mut sub_models = Vec::new();
    for (lineno, names, n) in raw_subs {
        let mut idx = Vec::new();
        for name in &names {
            match axes.iter().position(|a| &a.name == name) {
                Some(i) if !idx.contains(&i) => idx.push(i),
                Some(_) => errors.push(err(
                    lineno,
                    format!("sub-model names '{name}' twice"),
                    "list each parameter once",
                )),
                None if rejected.contains(name) => {}
                None => errors.push(err(
                    lineno,
                    format!("sub-model names unknown parameter '{name}'"),
                    "use the name of a parameter above",
                )),
            }
        }
        if !(2..=4).contains(&n) || n > names.len() {
            errors.push(err(
                lineno,
                format!(
                    "sub-model strength {n} over {} parameters is out of range",
                    names.len()
                ),
                "give a strength from 2 to 4, at most the number of parameters listed",
            ));
            continue;
        }
        sub_models.push(SubModel {
            axes: idx,
            strength: n,
        });
    }
    if !errors.is_empty() {
        return Err(ModelErrors(errors));
    }
    // The default config must be valid for walks to start somewhere: pick the first valid row
    // in lexicographic order when the all-first-values row is not.
    let mut model = Model {
        name: path
            .file_stem()
            .map_or("pict".into(), |s| s.to_string_lossy().into_owned()),
        description: "imported from a PICT model".into(),
        transitions_by_default: false,
        apply_cost: 1.0,
        axes,
        prerequisites: vec![],
        gates: vec![],
        constraints,
        normalisations: vec![],
        profiles: vec![],
        services: vec![],
        env: vec![],
        api: vec![],
        secret_env: vec![],
        posture_env: vec![],
        operations: vec![],
        readiness: Default::default(),
        sub_models,
        source: path.to_path_buf(),
        hash: hex::encode(Sha256::digest(text.as_bytes())),
        variant: String::new(),
        variants: None,
    };
    if model.violation(&model.default_config().0).is_some() {
        match first_valid(&model) {
            Some(row) => {
                for (a, v) in model.axes.iter_mut().zip(row) {
                    a.default = v;
                }
            }
            None => {
                return Err(ModelErrors(vec![ModelError {
                    file: path.to_path_buf(),
                    line: None,
                    message: "no combination of values satisfies all constraints".into(),
                    hint: "the constraints contradict each other; remove one".into(),
                }]));
            }
        }
    }
    Ok(model)
}

/// The first valid full row in lexicographic order, by backtracking with partial evaluation.
pub fn first_valid(model: &Model) -> Option<Vec<u16>> {
    fn go(model: &Model, row: &mut Vec<u16>, axis: usize) -> bool {
        if axis == model.axes.len() {
            return model.violation(row).is_none();
        }
        for v in 0..model.axes[axis].values.len() as u16 {
            row[axis] = v;
            let dead = model
                .constraints
                .iter()
                .any(|c| c.expr.eval_partial(row) == expr::Truth::False);
            if !dead && go(model, row, axis + 1) {
                return true;
            }
        }
        row[axis] = expr::UNSET;
        false
    }
    let mut row = vec![expr::UNSET; model.axes.len()];
    go(model, &mut row, 0).then_some(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_parameters_and_constraints() {
        let text = "# a comment\nOS: Win, Linux (3), ~Mac\nSize: 1, 10, 100\nFS: NTFS | ntfs, FAT\n\nIF [OS] = \"linux\" THEN [FS] <> \"NTFS\";\n[Size] > 1 OR [OS] = \"Win\";\n";
        let m = load_pict_str(text, Path::new("m.txt")).unwrap();
        assert_eq!(m.axes.len(), 3);
        assert_eq!(
            m.axes[0]
                .values
                .iter()
                .map(|v| v.label.as_str())
                .collect::<Vec<_>>(),
            ["Win", "Linux", "Mac"]
        );
        assert_eq!(m.axes[2].values[0].label, "NTFS");
        assert_eq!(m.constraints.len(), 2);
        assert!(m.violation(&[1, 1, 0]).is_some());
        assert!(m.violation(&[1, 1, 1]).is_none());
        assert!(m.violation(&[1, 0, 1]).is_some());
    }

    #[test]
    fn errors_name_line_and_fix() {
        // (model text, the line the error names, what it says)
        let cases = [
            ("A: 1, 2\nB 1, 2\n", "m.txt:2", ""),
            (
                "A: 1, 2\nIF [C] = 1 THEN [A] = 2;\n",
                "m.txt:2",
                "unknown axis [C]",
            ),
            (
                "A: x\nB: y\n{ A, C } @ 2\n",
                "m.txt:3",
                "unknown parameter 'C'",
            ),
            ("A: x\nB: y\n{ A, B } @ 3\n", "m.txt:3", "out of range"),
            (
                "A: x\nB: y\n{ A, B } 2\n",
                "m.txt:3",
                "expected a sub-model",
            ),
        ];
        for (text, line, says) in cases {
            let e = load_pict_str(text, Path::new("m.txt"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(line) && e.contains(says), "{text:?}: {e}");
        }
    }

    #[test]
    fn sub_models_name_their_parameters_and_strength() {
        let m = load_pict_str(
            "A: 1, 2\nB: 1, 2\nC: 1, 2, 3\nD: x, y\n{ C, A, D } @ 3\n",
            Path::new("m.txt"),
        )
        .unwrap();
        assert_eq!(m.sub_models.len(), 1);
        assert_eq!(m.sub_models[0].axes, vec![2, 0, 3]);
        assert_eq!(m.sub_models[0].strength, 3);
    }

    #[test]
    fn a_parameter_without_values_is_one_error_not_two() {
        let e = load_pict_str(
            "A:\nB: 1, 2\nIF [a] = 1 THEN [B] = 2;\n",
            Path::new("m.txt"),
        )
        .unwrap_err();
        assert_eq!(e.0.len(), 1, "{e}");
        assert!(
            e.to_string()
                .contains("m.txt:1: parameter 'A' has no values"),
            "{e}"
        );
    }

    #[test]
    fn default_moves_to_a_valid_row() {
        let m = load_pict_str("A: 1, 2\nB: x, y\n[A] = 2;\n", Path::new("m.txt")).unwrap();
        assert_eq!(m.default_config().0, vec![1, 0]);
        assert!(load_pict_str("A: 1\n[A] = 2;\n", Path::new("m.txt")).is_err());
    }
}
