//! Compose's variable interpolation, read not evaluated: which variables a string reads and
//! how (`$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`,
//! `${VAR?message}`, `${VAR:+alt}`, `${VAR+alt}`; `$$` is a literal dollar). A default or
//! alternative may itself interpolate (`${A:-${B}}`): those variables are read too.

use serde::Serialize;

/// How a variable is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "form", rename_all = "snake_case")]
pub enum Form {
    /// `$VAR` or `${VAR}`.
    Plain,
    /// `${VAR:-x}` (`if_empty`: also when set but empty) or `${VAR-x}` (only when unset).
    Default { if_empty: bool, value: String },
    /// `${VAR:?msg}` or `${VAR?msg}`: Compose refuses to start without it.
    Required { if_empty: bool, message: String },
    /// `${VAR:+x}` or `${VAR+x}`: `x` when set.
    Alternative { if_empty: bool, value: String },
}

/// One variable read by a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VarRef {
    pub name: String,
    #[serde(flatten)]
    pub form: Form,
}

/// A malformed interpolation; `at` is the byte offset of its `$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpError {
    pub at: usize,
    pub message: String,
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}
fn is_name(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The variables `text` reads, in order (nested ones after the one they sit in).
pub fn variables(text: &str) -> Result<Vec<VarRef>, InterpError> {
    let mut out = Vec::new();
    scan(text, 0, &mut out)?;
    Ok(out)
}

fn scan(text: &str, base: usize, out: &mut Vec<VarRef>) -> Result<(), InterpError> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        let at = base + i;
        match b.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'{') => {
                let end = closing_brace(b, i + 2).ok_or_else(|| InterpError {
                    at,
                    message: format!("unterminated '${{' in {text:?}"),
                })?;
                let inner = &text[i + 2..end];
                braced(inner, base + i + 2, at, out)?;
                i = end + 1;
            }
            Some(&c) if is_name_start(c) => {
                let mut j = i + 1;
                while j < b.len() && is_name(b[j]) {
                    j += 1;
                }
                out.push(VarRef {
                    name: text[i + 1..j].to_string(),
                    form: Form::Plain,
                });
                i = j;
            }
            // A lone `$` (end of text, `$1`, `$ `): Compose keeps it as text.
            _ => i += 1,
        }
    }
    Ok(())
}

/// The index of the `}` closing a `${` whose body starts at `from`, counting nested `${`.
fn closing_brace(b: &[u8], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'$') => i += 1,
            b'$' if b.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn braced(
    inner: &str,
    inner_at: usize,
    at: usize,
    out: &mut Vec<VarRef>,
) -> Result<(), InterpError> {
    let b = inner.as_bytes();
    let mut j = 0;
    while j < b.len() && is_name(b[j]) {
        j += 1;
    }
    let name = &inner[..j];
    if name.is_empty() || !is_name_start(b[0]) {
        return Err(InterpError {
            at,
            message: format!("'${{{inner}}}' does not start with a variable name"),
        });
    }
    let rest = &inner[j..];
    let (if_empty, op, arg) = if let Some(r) = rest.strip_prefix(':') {
        let Some(op) = r.chars().next() else {
            return Err(bad_op(inner, at));
        };
        (true, op, &r[1..])
    } else if let Some(op) = rest.chars().next() {
        (false, op, &rest[1..])
    } else {
        out.push(VarRef {
            name: name.to_string(),
            form: Form::Plain,
        });
        return Ok(());
    };
    let value = arg.to_string();
    let form = match op {
        '-' => Form::Default { if_empty, value },
        '?' => Form::Required {
            if_empty,
            message: value,
        },
        '+' => Form::Alternative { if_empty, value },
        _ => return Err(bad_op(inner, at)),
    };
    out.push(VarRef {
        name: name.to_string(),
        form,
    });
    let arg_at = inner_at + inner.len() - arg.len();
    scan(arg, arg_at, out)
}

fn bad_op(inner: &str, at: usize) -> InterpError {
    InterpError {
        at,
        message: format!("'${{{inner}}}': after the name Compose takes only :-, -, :?, ?, :+ or +"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        variables(text)
            .unwrap()
            .into_iter()
            .map(|v| v.name)
            .collect()
    }

    #[test]
    fn plain_and_braced() {
        assert_eq!(names("${A} and $B_2, $c"), ["A", "B_2", "c"]);
        assert_eq!(names("${NETWORK_PREFIX}.25"), ["NETWORK_PREFIX"]);
        assert_eq!(names("$A.$B"), ["A", "B"]);
    }

    #[test]
    fn dollar_dollar_is_a_literal_dollar() {
        assert_eq!(names("$$A $${B} $$$C"), ["C"]);
        assert!(names("echo $$HOME").is_empty());
    }

    #[test]
    fn a_lone_dollar_is_text() {
        assert!(names("cost: 5$").is_empty());
        assert!(names("$1 $ x").is_empty());
    }

    #[test]
    fn defaults_required_and_alternatives() {
        let v = variables("${A:-x} ${B-y} ${C:?C is empty} ${D?gone} ${E:+on} ${F+set}").unwrap();
        assert_eq!(
            v.iter().map(|v| v.form.clone()).collect::<Vec<_>>(),
            vec![
                Form::Default {
                    if_empty: true,
                    value: "x".into()
                },
                Form::Default {
                    if_empty: false,
                    value: "y".into()
                },
                Form::Required {
                    if_empty: true,
                    message: "C is empty".into()
                },
                Form::Required {
                    if_empty: false,
                    message: "gone".into()
                },
                Form::Alternative {
                    if_empty: true,
                    value: "on".into()
                },
                Form::Alternative {
                    if_empty: false,
                    value: "set".into()
                },
            ]
        );
    }

    #[test]
    fn empty_default_and_nested_defaults() {
        let v = variables("${A:-}").unwrap();
        assert_eq!(
            v[0].form,
            Form::Default {
                if_empty: true,
                value: String::new()
            }
        );
        assert_eq!(names("${A:-${B:-${C}}}/x"), ["A", "B", "C"]);
        // A `}` inside a nested default does not close the outer one early.
        assert_eq!(names("${A:-${B}z} ${D}"), ["A", "B", "D"]);
        assert_eq!(names("${A:-$$B}"), ["A"]);
    }

    #[test]
    fn a_default_may_hold_colons_and_dashes() {
        let v = variables("${DASHBOARD_PORT:-127.0.0.1:8000} ${U:-a-b:-c}").unwrap();
        assert_eq!(
            v[0].form,
            Form::Default {
                if_empty: true,
                value: "127.0.0.1:8000".into()
            }
        );
        assert_eq!(
            v[1].form,
            Form::Default {
                if_empty: true,
                value: "a-b:-c".into()
            }
        );
    }

    #[test]
    fn malformed_interpolations_are_errors_with_their_offset() {
        let e = variables("x ${A").unwrap_err();
        assert_eq!(e.at, 2);
        assert!(e.message.contains("unterminated"), "{e:?}");
        assert!(variables("${}").is_err());
        assert!(variables("${1A}").is_err());
        assert!(variables("${A:}").is_err());
        assert!(variables("${A/x/y}").is_err());
        assert!(variables("${A:-${B}").is_err());
    }
}
