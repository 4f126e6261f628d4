//! The form a prerequisite's value takes (`type = "host"` in a `[[prerequisite]]` table), and
//! the check of what the user supplies against the model: a bad value is refused before any
//! plan, naming the prerequisite, the expected form and an example, never a secret's value.

use std::collections::{BTreeMap, BTreeSet};

use super::{Model, Supplied};

/// The form of a prerequisite's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PrereqType {
    /// Any non-empty text.
    #[default]
    Text,
    /// `yes` supplies it, `no` leaves it unsupplied.
    YesNo,
    /// A bare host name or IPv4 address: no port, no scheme, no path.
    Host,
    /// 64 lowercase hex digits (a Monero view key).
    Hex64,
    /// An absolute path on the box.
    Path,
}

impl PrereqType {
    /// Every type, for messages.
    pub const ALL: [PrereqType; 5] = [
        PrereqType::Text,
        PrereqType::YesNo,
        PrereqType::Host,
        PrereqType::Hex64,
        PrereqType::Path,
    ];

    /// The name used in a model's `type = "..."`.
    pub fn name(self) -> &'static str {
        match self {
            PrereqType::Text => "text",
            PrereqType::YesNo => "yes-no",
            PrereqType::Host => "host",
            PrereqType::Hex64 => "hex64",
            PrereqType::Path => "path",
        }
    }

    /// The type with this name.
    pub fn parse(name: &str) -> Option<PrereqType> {
        PrereqType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// What a value of this type looks like, for messages.
    pub fn form(self) -> &'static str {
        match self {
            PrereqType::Text => "any non-empty text",
            PrereqType::YesNo => "yes or no",
            PrereqType::Host => "a bare host name or IPv4 address (no port, no scheme)",
            PrereqType::Hex64 => "64 lowercase hex digits",
            PrereqType::Path => "an absolute path (no '..', '//', '/./' or ':')",
        }
    }

    /// A value of this type, for messages.
    pub fn example(self) -> &'static str {
        match self {
            PrereqType::Text => "value",
            PrereqType::YesNo => "yes",
            PrereqType::Host => "node.lan",
            PrereqType::Hex64 => "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            PrereqType::Path => "/srv/monero-full",
        }
    }

    /// Checks a value: `Ok(true)` supplies it, `Ok(false)` declines it (`no`), `Err` says
    /// what is wrong without repeating the value.
    pub fn check(self, value: &str) -> Result<bool, &'static str> {
        if value.is_empty() {
            return Err("is empty");
        }
        match self {
            PrereqType::Text => Ok(true),
            PrereqType::YesNo => match value {
                "yes" => Ok(true),
                "no" => Ok(false),
                _ => Err("is neither yes nor no"),
            },
            PrereqType::Host => check_host(value).map(|()| true),
            PrereqType::Hex64 => {
                if value.len() != 64 {
                    Err("is not 64 characters long")
                } else if !value
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                {
                    Err("holds a character that is not a lowercase hex digit")
                } else {
                    Ok(true)
                }
            }
            PrereqType::Path => check_path(value).map(|()| true),
        }
    }
}

/// Pithead takes a bare host (`monero.remote.host`, never host:port, #1491) and adds the
/// ports itself, so a scheme or a port here makes a URL that cannot work.
fn check_host(v: &str) -> Result<(), &'static str> {
    if v.contains("://") {
        return Err("has a scheme (drop the 'http://')");
    }
    if v.contains(':') {
        return Err("has a port (drop the ':PORT'; the model adds the ports)");
    }
    if v.len() > 253 {
        return Err("is longer than 253 characters");
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        return Err("holds a character a host name does not have");
    }
    if v.split('.').any(str::is_empty) {
        return Err("has an empty label (a leading, trailing or doubled '.')");
    }
    Ok(())
}

/// Pithead's own data-dir rules (absolute, no `..`, `//`, `/./` or `:`), so a value canary
/// accepts is one Pithead would take.
fn check_path(v: &str) -> Result<(), &'static str> {
    if !v.starts_with('/') {
        return Err("is not an absolute path");
    }
    if v == "/" {
        return Err("is the root directory");
    }
    if v.split('/').any(|seg| seg == "..") {
        return Err("has a '..' component");
    }
    if v.contains("//") || v.contains("/./") || v.ends_with("/.") {
        return Err("has a '//' or '/./'");
    }
    if v.contains(':') {
        return Err("has a ':'");
    }
    if v.chars().any(char::is_control) {
        return Err("holds a control character");
    }
    Ok(())
}

/// Where a supplied value came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--supply NAME=VALUE`.
    Flag,
    /// The `[supply]` table of a run file (its path, as given).
    RunFile(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => f.write_str("--supply"),
            Source::RunFile(p) => write!(f, "run file {p}"),
        }
    }
}

/// What the user supplied, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    pub supplied: Supplied,
    /// Prerequisites answered `no`: not supplied, and the sim does not stand in for them.
    pub declined: BTreeSet<String>,
}

/// Checks every supplied value against the model: unknown names, duplicates, empty values
/// and values not of their prerequisite's type are all reported, one per line; a secret's
/// value is never repeated.
pub fn check_supplied(
    model: &Model,
    entries: &[(String, String, Source)],
) -> Result<Checked, String> {
    let mut problems: Vec<String> = Vec::new();
    let mut seen: BTreeMap<&str, &Source> = BTreeMap::new();
    let mut out = BTreeMap::new();
    let mut declined = BTreeSet::new();
    for (name, value, source) in entries {
        let Some(p) = model.prerequisites.iter().find(|p| &p.name == name) else {
            let known: Vec<&str> = model
                .prerequisites
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            problems.push(format!(
                "{source}: unknown prerequisite '{name}'; the model's prerequisites are: {}",
                if known.is_empty() {
                    "(none)".to_string()
                } else {
                    known.join(", ")
                }
            ));
            continue;
        };
        if let Some(first) = seen.insert(name, source) {
            let where_ = if first == source {
                format!("twice with {source}")
            } else {
                format!("with {first} and with {source}")
            };
            problems.push(format!(
                "prerequisite '{name}' is supplied {where_}; give it once"
            ));
            continue;
        }
        match p.kind.check(value) {
            Ok(true) => {
                out.insert(name.clone(), value.clone());
            }
            Ok(false) => {
                declined.insert(name.clone());
            }
            Err(why) => {
                let shown = if p.secret {
                    "the value given".to_string()
                } else if value.is_empty() {
                    "the value".to_string()
                } else {
                    format!("'{}'", value.escape_debug())
                };
                problems.push(format!(
                    "{source}: prerequisite '{name}': {shown} {why}; expected {}, e.g. {name}={}",
                    p.kind.form(),
                    p.kind.example()
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(Checked {
            supplied: Supplied(out),
            declined,
        })
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_takes_its_form_and_refuses_the_rest() {
        use PrereqType::*;
        for t in PrereqType::ALL {
            assert_eq!(t.check(t.example()), Ok(true), "{}", t.name());
            assert!(t.check("").is_err());
            assert_eq!(PrereqType::parse(t.name()), Some(t));
        }
        assert_eq!(YesNo.check("no"), Ok(false));
        assert!(YesNo.check("true").is_err());
        for bad in [
            "node.lan:18081",
            "http://node.lan",
            "node lan",
            "a..b",
            ".a",
        ] {
            assert!(Host.check(bad).is_err(), "{bad}");
        }
        assert_eq!(Host.check("10.0.0.5"), Ok(true));
        assert!(Hex64.check("xyz").is_err());
        assert!(Hex64.check(&"A".repeat(64)).is_err());
        for bad in ["srv/x", "/", "/a/../b", "/a//b", "/a/./b", "/a:b", "/a\nb"] {
            assert!(Path.check(bad).is_err(), "{bad}");
        }
    }
}
