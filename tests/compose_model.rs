//! The project's compose files against strategies/pithead.toml (no Docker: a file comparison):
//! the mini-stack's and the stand-in checkout's agree with the model exactly, and each mutation
//! of a copy (a key added to a service, a profile renamed, a `restart: true` removed, a service
//! added) is reported with both places. Also `canary model --compose` end to end.

#[path = "cli_support/mod.rs"]
mod cli;

use std::path::{Path, PathBuf};

use canary::compose::compare::{DriftKind, compare, service_tables};
use canary::compose::{self, ComposeFile};
use canary::model::{Model, load_file};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model() -> Model {
    // Loaded by its relative name, as a maintainer would pass it, so locations read
    // `strategies/pithead.toml:N`.
    std::env::set_current_dir(root()).unwrap();
    load_file(Path::new("strategies/pithead.toml")).unwrap()
}

const MINI: &str = "mini-stack/docker-compose.yml";
const STANDIN: &str = "mini-stack/standin/docker-compose.yml";

fn text(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

fn parse(name: &str, text: &str) -> ComposeFile {
    compose::parse(name, text, None).unwrap()
}

/// The line of the model's `[[TABLE]]` whose `name` is `name`.
fn model_line(table: &str, name: &str) -> usize {
    let t = text("strategies/pithead.toml");
    let lines: Vec<&str> = t.lines().collect();
    let header = format!("[[{table}]]");
    let i = lines
        .windows(2)
        .position(|w| w[0] == header && w[1] == format!("name = \"{name}\""))
        .unwrap_or_else(|| panic!("no [[{table}]] {name} in the model"));
    i + 1
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not found"))
        + 1
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
    text.replacen(from, to, 1)
}

#[test]
fn the_project_compose_files_agree_with_the_model() {
    let m = model();
    for path in [MINI, STANDIN] {
        let c = compare(&m, &parse(path, &text(path)));
        assert!(c.agrees(), "{path}:\n{}", c.render());
        assert!(c.render().contains("no drift"));
    }
}

#[test]
fn the_emitted_service_tables_are_the_models() {
    let m = model();
    let emitted = service_tables(&m, &parse(STANDIN, &text(STANDIN)));
    let doc: toml::Table = toml::from_str(&emitted).unwrap();
    let tables = doc["service"].as_array().unwrap();
    assert_eq!(tables.len(), m.services.len(), "{emitted}");
    for s in &m.services {
        let t = tables
            .iter()
            .find(|t| t["name"].as_str() == Some(&s.name))
            .unwrap_or_else(|| panic!("{} not emitted:\n{emitted}", s.name));
        let list = |k: &str| -> Vec<String> {
            t.get(k)
                .and_then(|v| v.as_array())
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        let mut inputs = list("inputs");
        let mut want = s.inputs.clone();
        inputs.sort();
        want.sort();
        assert_eq!(inputs, want, "{}", s.name);
        assert_eq!(list("restart_with"), s.restart_with, "{}", s.name);
        assert_eq!(list("restart_on"), s.restart_on, "{}", s.name);
        assert_eq!(
            t.get("profile").and_then(|v| v.as_str()),
            s.profile.as_deref()
        );
        assert_eq!(t["cost"].as_float(), Some(s.cost));
    }
}

#[test]
fn a_key_added_to_a_service_is_reported_with_both_places() {
    let m = model();
    let mutated = replace_once(
        &text(MINI),
        "      P2POOL_FLAGS: ${P2POOL_FLAGS}\n",
        "      P2POOL_FLAGS: ${P2POOL_FLAGS}\n      PRUNED: \"${MONERO_PRUNE:-1}\"\n",
    );
    let c = compare(&m, &parse("copy.yml", &mutated));
    assert_eq!(c.drift.len(), 1, "{}", c.render());
    let d = &c.drift[0];
    assert_eq!(d.kind, DriftKind::UnlistedInput);
    assert_eq!(
        (d.service.as_str(), d.subject.as_str()),
        ("p2pool", "MONERO_PRUNE")
    );
    assert_eq!(
        d.compose_at.to_string(),
        format!("copy.yml:{}", line_of(&mutated, "PRUNED:"))
    );
    assert_eq!(
        d.model_at.to_string(),
        format!(
            "strategies/pithead.toml:{}",
            model_line("service", "p2pool")
        )
    );
    assert!(
        d.fix.contains("add \"MONERO_PRUNE\" to inputs"),
        "{}",
        d.fix
    );
    // A key the model no longer finds: removed from the compose service.
    let dropped = replace_once(
        &text(STANDIN),
        "      TARI_MODE: ${TARI_MODE}\n      P2POOL_PORT",
        "      P2POOL_PORT",
    );
    let c = compare(&m, &parse("copy.yml", &dropped));
    assert_eq!(c.drift.len(), 1, "{}", c.render());
    assert_eq!(c.drift[0].kind, DriftKind::StaleInput);
    assert_eq!(c.drift[0].subject, "TARI_MODE");
}

#[test]
fn a_renamed_profile_is_reported_on_both_sides() {
    let m = model();
    let mutated = replace_once(
        &text(MINI),
        "profiles: [local_node]",
        "profiles: [local_monero]",
    );
    let c = compare(&m, &parse("copy.yml", &mutated));
    let kinds: Vec<DriftKind> = c.drift.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [
            DriftKind::ComposeOnlyProfile,
            DriftKind::ModelOnlyProfile,
            DriftKind::ProfileMismatch
        ],
        "{}",
        c.render()
    );
    let at = line_of(&mutated, "local_monero");
    assert_eq!(c.drift[0].compose_at.to_string(), format!("copy.yml:{at}"));
    assert_eq!(
        c.drift[1].model_at.to_string(),
        format!(
            "strategies/pithead.toml:{}",
            model_line("profile", "local_node")
        )
    );
    assert_eq!(c.drift[2].service, "monerod");
    assert_eq!(c.drift[2].compose_at.line, at);
    assert_eq!(c.drift[2].model_at.line, model_line("service", "monerod"));
}

#[test]
fn a_removed_restart_edge_is_reported_with_both_places() {
    let m = model();
    let mutated = replace_once(
        &text(STANDIN),
        "tor: { condition: service_healthy, restart: true }",
        "tor: { condition: service_healthy }",
    );
    let c = compare(&m, &parse("copy.yml", &mutated));
    assert_eq!(c.drift.len(), 1, "{}", c.render());
    let d = &c.drift[0];
    assert_eq!(d.kind, DriftKind::StaleRestartEdge);
    assert_eq!((d.service.as_str(), d.subject.as_str()), ("monerod", "tor"));
    assert_eq!(
        d.compose_at.line,
        line_of(&mutated, "tor: { condition: service_healthy }")
    );
    assert_eq!(d.model_at.line, model_line("service", "monerod"));
    // And the mini-stack's declared edge (Compose v1 cannot say it) taken away.
    let mini = replace_once(&text(MINI), "  monerod: [tor]\n", "");
    let c = compare(&m, &parse("copy.yml", &mini));
    assert_eq!(c.drift.len(), 1, "{}", c.render());
    assert_eq!(c.drift[0].kind, DriftKind::StaleRestartEdge);
    // An edge the model lacks.
    let extra = replace_once(
        &text(STANDIN),
        "      tari: { condition: service_healthy }\n",
        "      tari: { condition: service_healthy, restart: true }\n",
    );
    let c = compare(&m, &parse("copy.yml", &extra));
    assert_eq!(c.drift.len(), 1, "{}", c.render());
    assert_eq!(c.drift[0].kind, DriftKind::MissingRestartEdge);
    assert_eq!(c.drift[0].service, "tari-wallet");
}

#[test]
fn an_added_service_is_reported_with_its_table() {
    let m = model();
    let mutated = replace_once(
        &text(STANDIN),
        "\nnetworks:\n",
        "\n  miner:\n    image: xmrig:6\n    environment:\n      POOL_PORT: ${P2POOL_PORT}\n      SECRET: ${PROXY_STRATUM_PASSWORD}\n\nnetworks:\n",
    );
    let c = compare(&m, &parse("copy.yml", &mutated));
    assert_eq!(c.drift.len(), 1, "{}", c.render());
    let d = &c.drift[0];
    assert_eq!(d.kind, DriftKind::ComposeOnlyService);
    assert_eq!(d.compose_at.line, line_of(&mutated, "  miner:"));
    assert_eq!(d.model_at.file, "strategies/pithead.toml");
    // The suggested table lists the rendered key only (the model never moves the other).
    assert!(d.fix.contains("name = \"miner\""), "{}", d.fix);
    assert!(d.fix.contains("inputs = [\"P2POOL_PORT\"]"), "{}", d.fix);
    // A service gone from the compose file.
    let gone = replace_once(
        &text(STANDIN),
        "  docker-control:\n",
        "  docker-controller:\n",
    );
    let c = compare(&m, &parse("copy.yml", &gone));
    let kinds: Vec<DriftKind> = c.drift.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [DriftKind::ComposeOnlyService, DriftKind::ModelOnlyService],
        "{}",
        c.render()
    );
    assert_eq!(
        c.drift[1].model_at.line,
        model_line("service", "docker-control")
    );
}

#[test]
fn a_profile_without_when_is_named_but_never_judged() {
    let m = model();
    assert!(m.tracks_profile("local_node"));
    assert!(!m.tracks_profile("tari_payout_confirm"));
    let e = canary::oracle::Expected::new(&m, &Default::default(), &m.default_config());
    assert!(!e.running.contains(&"tari-wallet".to_string()));
    assert!(
        !e.absent.contains(&"tari-wallet".to_string()),
        "{:?}",
        e.absent
    );
    assert!(
        !e.known_profiles
            .contains(&"tari_payout_confirm".to_string())
    );
    assert!(!e.profiles.contains(&"tari_payout_confirm".to_string()));
    // A tracked profile's service is still asserted absent when inactive.
    assert!(
        e.absent.contains(&"wallet-rpc".to_string()),
        "{:?}",
        e.absent
    );
}

fn canary(args: &[&str]) -> (Option<i32>, String) {
    cli::outcome(args, &root())
}

#[test]
fn the_model_command_exits_by_drift_and_names_both_places() {
    let m = ["model", "--model", "strategies/pithead.toml", "--compose"];
    let (code, out) = canary(&[&m[..], &[STANDIN]].concat());
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("no drift"), "{out}");

    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("docker-compose.yml");
    std::fs::write(&base, text(STANDIN)).unwrap();
    // The override adds a rendered key to caddy.
    let over = tmp.path().join("override.yml");
    std::fs::write(
        &over,
        "services:\n  caddy:\n    environment:\n      SECURE: ${DASHBOARD_SECURE}\n",
    )
    .unwrap();
    let (b, o) = (base.display().to_string(), over.display().to_string());
    let (code, out) = canary(&[&m[..], &[&b, "--override", &o]].concat());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("service 'caddy' interpolates DASHBOARD_SECURE"),
        "{out}"
    );
    let model_at = format!("strategies/pithead.toml:{}", model_line("service", "caddy"));
    assert!(out.contains(&format!("{o}:4 / {model_at}")), "{out}");
    assert!(
        out.contains("fix: add \"DASHBOARD_SECURE\" to inputs"),
        "{out}"
    );

    let (code, out) = canary(&[&m[..], &[&b, "--override", &o, "--emit", "services"]].concat());
    assert_eq!(code, Some(0), "emitting is output, not a verdict: {out}");
    assert!(out.contains("[[service]]\nname = \"tor\""), "{out}");
    let caddy =
        "name = \"caddy\"\ninputs = [\"DASHBOARD_SECURE\"]\nrestart_on = [\"DASHBOARD_SECURE\"]";
    assert!(out.contains(caddy), "{out}");

    // Bad YAML: an error with file:line, usage exit, no panic.
    std::fs::write(&base, "services:\n  tor:\n    environment: [a\n  x: 1\n").unwrap();
    let (code, out) = canary(&[&m[..], &[&b]].concat());
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(&format!("error: {b}:")), "{out}");
    assert!(!out.contains("panicked"), "{out}");
    let (code, out) = canary(&[&m[..], &["/nonexistent/docker-compose.yml"]].concat());
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("cannot read the compose file"), "{out}");
}
