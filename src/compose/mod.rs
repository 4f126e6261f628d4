//! Reading a Compose file (Pithead's `docker-compose.yml`, plus an override) into what the model
//! claims about it: each service's interpolated variables (with the field and line that reads
//! them), profiles, `depends_on` edges (with `restart: true`), healthcheck and image.
//! `compare.rs` holds the comparison with a loaded model; `interp.rs` the `${VAR}` grammar;
//! `yaml.rs` the line-keeping YAML tree; `preflight.rs` the box run's check. A top-level
//! `x-canary-restart-with` declares `restart: true` edges the stack provides outside Compose.

pub mod compare;
pub mod interp;
pub mod preflight;
pub mod yaml;

use std::fmt;
use std::path::Path;

use serde::Serialize;

use interp::Form;
use yaml::{Node, Value};

/// A place in a file, printed `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct Loc {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A Compose file that cannot be read, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", file, line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ComposeError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located<T> {
    pub value: T,
    pub at: Loc,
}

/// One variable a service reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VarUse {
    pub name: String,
    /// The service's top-level field that reads it (`environment`, `ports`, `healthcheck`, ...).
    pub field: String,
    /// For `environment` and `labels`: the entry's own key (an override replaces by it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    #[serde(flatten)]
    pub form: Form,
    pub at: Loc,
}

/// A `depends_on` edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// `restart: true`: a restart or recreate of `service` restarts this one.
    pub restart: bool,
    pub at: Loc,
}

/// A service's healthcheck.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Healthcheck {
    /// The `test` words (a string test is one word); empty when absent.
    pub test: Vec<String>,
    /// `disable: true` or a test of `NONE`.
    pub disabled: bool,
    pub at: Loc,
}

/// One service of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub name: String,
    pub at: Loc,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Located<String>>,
    pub profiles: Vec<Located<String>>,
    pub depends_on: Vec<Dependency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    pub vars: Vec<VarUse>,
    /// The fields present, and the `environment`/`labels` entries set (with or without a
    /// variable): what an override replaces.
    #[serde(skip)]
    fields: Vec<String>,
    #[serde(skip)]
    entries: Vec<(String, String)>,
}

impl Service {
    /// The first place the service reads `name`, if it does.
    pub fn reads(&self, name: &str) -> Option<&VarUse> {
        self.vars.iter().find(|v| v.name == name)
    }
}

/// A read Compose file (with its override applied), services in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComposeFile {
    /// The file(s) as named in messages.
    pub files: Vec<String>,
    pub services: Vec<Service>,
}

impl ComposeFile {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }
}

/// Reads a Compose file and, when given, an override applied on top of it.
pub fn read(path: &Path, override_path: Option<&Path>) -> Result<ComposeFile, ComposeError> {
    let load = |p: &Path| {
        let name = p.display().to_string();
        crate::files::read_capped(p, crate::files::INPUT_CAP)
            .map(|text| (name.clone(), text))
            .map_err(|e| ComposeError {
                file: name,
                line: None,
                message: format!("cannot read the compose file: {e}"),
            })
    };
    let (name, text) = load(path)?;
    let over = override_path.map(load).transpose()?;
    parse(
        &name,
        &text,
        over.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
    )
}

/// `canary model --compose`: the comparison's report and whether the model has drifted; with
/// `emit_services`, the derived `[[service]]` tables instead (output, not a verdict: never
/// drifted).
pub fn check_files(
    model: &crate::model::Model,
    path: &Path,
    override_path: Option<&Path>,
    emit_services: bool,
) -> Result<(String, bool), ComposeError> {
    let file = read(path, override_path)?;
    let cmp = compare::compare(model, &file);
    let text = if emit_services {
        compare::service_tables(model, &file)
    } else {
        cmp.render()
    };
    Ok((text, !emit_services && !cmp.agrees()))
}

/// Parses a Compose file's text (named `name` in messages) and an optional override.
pub fn parse(
    name: &str,
    text: &str,
    override_text: Option<(&str, &str)>,
) -> Result<ComposeFile, ComposeError> {
    let mut file = ComposeFile {
        files: vec![name.to_string()],
        services: services(name, text)?,
    };
    if let Some((oname, otext)) = override_text {
        file.files.push(oname.to_string());
        for o in services(oname, otext)? {
            match file.services.iter_mut().find(|s| s.name == o.name) {
                Some(base) => apply_override(base, o),
                None => file.services.push(o),
            }
        }
    }
    Ok(file)
}

/// Compose's merge, as far as the fields read here go: single values and `command`,
/// `entrypoint`, `healthcheck` and `profiles` are replaced; `environment` and `labels` entries
/// replace the base's entry of the same key; `depends_on` edges replace by service; other
/// lists (ports, volumes, ...) are appended.
fn apply_override(base: &mut Service, o: Service) {
    if o.image.is_some() {
        base.image = o.image;
    }
    if !o.profiles.is_empty() {
        base.profiles = o.profiles;
    }
    if o.healthcheck.is_some() {
        base.healthcheck = o.healthcheck;
    }
    for d in o.depends_on {
        base.depends_on.retain(|x| x.service != d.service);
        base.depends_on.push(d);
    }
    let replaced = |f: &str| {
        matches!(f, "command" | "entrypoint" | "healthcheck") && o.fields.iter().any(|x| x == f)
    };
    base.vars.retain(|b| {
        !replaced(&b.field)
            && !b
                .entry
                .as_ref()
                .is_some_and(|e| o.entries.iter().any(|(f, k)| f == &b.field && k == e))
    });
    base.vars.extend(o.vars);
    base.fields.extend(o.fields);
    base.entries.extend(o.entries);
}

fn services(name: &str, text: &str) -> Result<Vec<Service>, ComposeError> {
    let err = |line: usize, message: String| ComposeError {
        file: name.to_string(),
        line: Some(line),
        message,
    };
    let root = yaml::parse(text).map_err(|e| err(e.line, e.message))?;
    if root.as_map().is_none() {
        return Err(err(
            root.line,
            "the file is not a mapping of top-level keys".into(),
        ));
    }
    let Some(list) = root.get("services") else {
        return Ok(vec![]);
    };
    let Some(entries) = list.as_map() else {
        return Err(err(list.line, "`services` is not a mapping".into()));
    };
    let mut out = Vec::new();
    for (key, body) in entries {
        let Some(sname) = key.as_str() else {
            return Err(err(key.line, "a service name is not text".into()));
        };
        let at = |line| Loc {
            file: name.to_string(),
            line,
        };
        let Some(fields) = body.as_map() else {
            // `svc:` with nothing under it (only legal in an override) reads nothing.
            if body.value == Value::Null {
                out.push(empty_service(sname, at(key.line)));
                continue;
            }
            return Err(err(
                body.line,
                format!("service '{sname}' is not a mapping"),
            ));
        };
        let mut s = empty_service(sname, at(key.line));
        for (fk, fv) in fields {
            let field = fk.as_str().unwrap_or_default();
            if field.starts_with("x-") {
                continue;
            }
            s.fields.push(field.to_string());
            if matches!(field, "environment" | "labels") {
                s.entries
                    .extend(entry_keys(fv).map(|k| (field.to_string(), k)));
            }
            match field {
                "image" => {
                    s.image = fv.as_str().map(|v| Located {
                        value: v.to_string(),
                        at: at(fv.line),
                    })
                }
                "profiles" => {
                    let items = fv.as_seq().ok_or_else(|| {
                        err(
                            fv.line,
                            format!("service '{sname}': `profiles` is not a list"),
                        )
                    })?;
                    s.profiles = items
                        .iter()
                        .filter_map(|p| {
                            p.as_str().map(|v| Located {
                                value: v.to_string(),
                                at: at(p.line),
                            })
                        })
                        .collect();
                }
                "depends_on" => {
                    s.depends_on = depends_on(name, sname, fv).map_err(|(l, m)| err(l, m))?
                }
                "healthcheck" => s.healthcheck = Some(healthcheck(fv, at(fk.line))),
                _ => {}
            }
            collect_vars(name, field, fv, &mut s.vars).map_err(|(l, m)| err(l, m))?;
        }
        out.push(s);
    }
    declared_restart_edges(name, &root, &mut out).map_err(|(l, m)| err(l, m))?;
    Ok(out)
}

/// `x-canary-restart-with: {SERVICE: [DEPENDENCY, ...]}` at the top level: `restart: true`
/// edges a stack provides outside Compose (the mini-stack's engine, because Compose v1 cannot
/// say them), read as those edges.
fn declared_restart_edges(
    file: &str,
    root: &Node,
    services: &mut [Service],
) -> Result<(), (usize, String)> {
    let Some(decl) = root
        .get(RESTART_WITH_KEY)
        .filter(|d| d.value != Value::Null)
    else {
        return Ok(());
    };
    let bad = |line| {
        (
            line,
            format!("`{RESTART_WITH_KEY}` maps a service to a list of services"),
        )
    };
    for (k, v) in decl.as_map().ok_or_else(|| bad(decl.line))? {
        let name = k.as_str().unwrap_or_default();
        let s = services
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(|| {
                (
                    k.line,
                    format!("`{RESTART_WITH_KEY}` names no service '{name}'"),
                )
            })?;
        for d in v.as_seq().ok_or_else(|| bad(v.line))? {
            let dep = d.as_str().ok_or_else(|| bad(d.line))?.to_string();
            let condition = s
                .depends_on
                .iter()
                .find(|x| x.service == dep)
                .and_then(|x| x.condition.clone());
            s.depends_on.retain(|x| x.service != dep);
            s.depends_on.push(Dependency {
                service: dep,
                condition,
                restart: true,
                at: Loc {
                    file: file.to_string(),
                    line: d.line,
                },
            });
        }
    }
    Ok(())
}

/// The top-level key of [`declared_restart_edges`].
pub const RESTART_WITH_KEY: &str = "x-canary-restart-with";

/// The keys of an `environment` or `labels` block, list (`KEY=v`) or mapping form.
fn entry_keys(node: &Node) -> impl Iterator<Item = String> + '_ {
    let list = node.as_seq().unwrap_or_default().iter().filter_map(|i| {
        i.as_str()
            .map(|t| t.split_once('=').map_or(t, |(k, _)| k).to_string())
    });
    let map = node
        .as_map()
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, _)| k.as_str().map(str::to_string));
    list.chain(map)
}

fn empty_service(name: &str, at: Loc) -> Service {
    Service {
        name: name.to_string(),
        at,
        image: None,
        profiles: vec![],
        depends_on: vec![],
        healthcheck: None,
        vars: vec![],
        fields: vec![],
        entries: vec![],
    }
}

fn depends_on(file: &str, sname: &str, node: &Node) -> Result<Vec<Dependency>, (usize, String)> {
    let at = |line| Loc {
        file: file.to_string(),
        line,
    };
    match &node.value {
        Value::Seq(items) => Ok(items
            .iter()
            .filter_map(|d| {
                d.as_str().map(|v| Dependency {
                    service: v.to_string(),
                    condition: None,
                    restart: false,
                    at: at(d.line),
                })
            })
            .collect()),
        Value::Map(entries) => Ok(entries
            .iter()
            .map(|(k, v)| Dependency {
                service: k.as_str().unwrap_or_default().to_string(),
                condition: v
                    .get("condition")
                    .and_then(Node::as_str)
                    .map(str::to_string),
                restart: v.get("restart").and_then(Node::as_str) == Some("true"),
                at: at(k.line),
            })
            .collect()),
        Value::Scalar(_) | Value::Null => Err((
            node.line,
            format!("service '{sname}': `depends_on` is neither a list nor a mapping"),
        )),
    }
}

fn healthcheck(node: &Node, at: Loc) -> Healthcheck {
    let test: Vec<String> = match node.get("test") {
        Some(Node {
            value: Value::Seq(words),
            ..
        }) => words
            .iter()
            .filter_map(|w| w.as_str().map(str::to_string))
            .collect(),
        Some(n) => n.as_str().map(|s| vec![s.to_string()]).unwrap_or_default(),
        None => vec![],
    };
    let disabled = node.get("disable").and_then(Node::as_str) == Some("true")
        || test.first().is_some_and(|w| w == "NONE");
    Healthcheck { test, disabled, at }
}

/// Every variable read under a service field. Mapping keys are not interpolated (Compose
/// interpolates values only); a bare `environment` entry (`- KEY` or `KEY:` with no value)
/// passes the variable through, so it reads it too.
fn collect_vars(
    file: &str,
    field: &str,
    node: &Node,
    out: &mut Vec<VarUse>,
) -> Result<(), (usize, String)> {
    let keyed = matches!(field, "environment" | "labels");
    let mut push = |text: &str, line: usize, entry: Option<String>| {
        let refs = interp::variables(text).map_err(|e| (line, e.message))?;
        for r in refs {
            out.push(VarUse {
                name: r.name,
                field: field.to_string(),
                entry: entry.clone(),
                form: r.form,
                at: Loc {
                    file: file.to_string(),
                    line,
                },
            });
        }
        Ok::<_, (usize, String)>(())
    };
    match (&node.value, keyed) {
        (Value::Seq(items), true) => {
            for item in items {
                let Some(text) = item.as_str() else { continue };
                let (key, value) = match text.split_once('=') {
                    Some((k, v)) => (k, Some(v)),
                    None => (text, None),
                };
                match value {
                    Some(v) => push(v, item.line, Some(key.to_string()))?,
                    None if field == "environment" => {
                        push(&format!("${{{key}}}"), item.line, Some(key.to_string()))?
                    }
                    None => {}
                }
            }
        }
        (Value::Map(entries), true) => {
            for (k, v) in entries {
                let key = k.as_str().unwrap_or_default().to_string();
                match &v.value {
                    Value::Null if field == "environment" => {
                        push(&format!("${{{key}}}"), k.line, Some(key))?
                    }
                    Value::Scalar(text) => push(text, v.line, Some(key))?,
                    _ => {}
                }
            }
        }
        _ => walk(node, &mut |text, line| push(text, line, None))?,
    }
    Ok(())
}

/// A problem and its line, before the file name is put on it.
type LineError = (usize, String);

fn walk(
    node: &Node,
    f: &mut dyn FnMut(&str, usize) -> Result<(), LineError>,
) -> Result<(), LineError> {
    match &node.value {
        Value::Scalar(s) => f(s, node.line),
        Value::Null => Ok(()),
        Value::Seq(items) => items.iter().try_for_each(|n| walk(n, f)),
        Value::Map(entries) => entries.iter().try_for_each(|(_, v)| walk(v, f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "\
x-fake: &fake
  image: fake:1
services:
  tor:
    <<: *fake
    environment:
      - NETWORK_PREFIX=${NETWORK_PREFIX:-172.28.0}
      - COMPOSE_PROFILES=${COMPOSE_PROFILES:-}
      - PASSED
    volumes: [\"${TOR_DATA_DIR}:/var/lib/tor\"]
    networks:
      mining_net: { ipv4_address: \"${NETWORK_PREFIX}.25\" }
    healthcheck:
      test: [\"CMD-SHELL\", \"echo $$HOME ${PROBE:?no probe}\"]
  monerod:
    profiles: [local_node]
    image: m:2
    environment:
      MONERO_PRUNE: ${MONERO_PRUNE}
      LITERAL: plain
      BARE:
      EMPTY: \"\"
    depends_on:
      tor: { condition: service_healthy, restart: true }
    ports: [\"${MONERO_RPC_BIND:-127.0.0.1}:18081:18081\"]
";

    #[test]
    fn services_vars_profiles_edges_and_lines() {
        let f = parse("docker-compose.yml", BASE, None).unwrap();
        let tor = f.service("tor").unwrap();
        assert_eq!(tor.at.line, 4);
        assert_eq!(tor.image.as_ref().unwrap().value, "fake:1");
        let names: Vec<&str> = tor.vars.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "NETWORK_PREFIX",
                "COMPOSE_PROFILES",
                "PASSED",
                "TOR_DATA_DIR",
                "NETWORK_PREFIX",
                "PROBE"
            ]
        );
        assert_eq!(
            tor.reads("COMPOSE_PROFILES").unwrap().at.to_string(),
            "docker-compose.yml:8"
        );
        assert_eq!(tor.reads("TOR_DATA_DIR").unwrap().field, "volumes");
        assert!(tor.reads("HOME").is_none(), "$$HOME is a literal");
        let hc = tor.healthcheck.as_ref().unwrap();
        assert_eq!(hc.test[0], "CMD-SHELL");
        assert!(!hc.disabled);
        let m = f.service("monerod").unwrap();
        assert_eq!(m.profiles[0].value, "local_node");
        assert_eq!(m.profiles[0].at.line, 16);
        assert!(m.reads("LITERAL").is_none());
        assert_eq!(
            m.reads("BARE").unwrap().at.line,
            21,
            "a bare entry passes BARE through"
        );
        assert!(
            m.reads("EMPTY").is_none(),
            "a quoted empty value is a value"
        );
        assert_eq!(m.reads("MONERO_PRUNE").unwrap().at.line, 19);
        assert_eq!(m.reads("MONERO_RPC_BIND").unwrap().field, "ports");
        let d = &m.depends_on[0];
        assert_eq!(
            (d.service.as_str(), d.restart, d.at.line),
            ("tor", true, 24)
        );
        assert_eq!(d.condition.as_deref(), Some("service_healthy"));
    }

    #[test]
    fn an_override_replaces_entries_and_adds_services() {
        let over = "\
services:
  monerod:
    environment:
      MONERO_PRUNE: \"0\"
      EXTRA: ${EXTRA}
    depends_on: [tor]
  tari:
    profiles: [local_tari]
    image: t:3
";
        let f = parse("base.yml", BASE, Some(("over.yml", over))).unwrap();
        let m = f.service("monerod").unwrap();
        assert!(
            m.reads("MONERO_PRUNE").is_none(),
            "the override's literal wins"
        );
        assert_eq!(m.reads("EXTRA").unwrap().at.to_string(), "over.yml:5");
        assert_eq!(m.reads("MONERO_RPC_BIND").unwrap().at.file, "base.yml");
        assert!(
            !m.depends_on[0].restart,
            "the override's edge replaces the base's"
        );
        assert_eq!(f.service("tari").unwrap().at.to_string(), "over.yml:7");
        assert_eq!(f.files, ["base.yml", "over.yml"]);
    }

    #[test]
    fn bad_yaml_and_bad_interpolation_name_the_line() {
        let e = parse("c.yml", "services:\n  tor:\n    image: [a\n", None).unwrap_err();
        assert_eq!(e.file, "c.yml");
        assert!(e.line.is_some(), "{e}");
        let e = parse(
            "c.yml",
            "services:\n  tor:\n    environment:\n      A: ${A\n",
            None,
        )
        .unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(e.to_string().starts_with("c.yml:4: "), "{e}");
        let e = parse("c.yml", "services:\n  tor:\n    profiles: local\n", None).unwrap_err();
        assert_eq!(e.line, Some(3));
        let e = parse("c.yml", "- a\n- b\n", None).unwrap_err();
        assert_eq!(e.line, Some(1));
    }
}
