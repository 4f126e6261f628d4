//! The docker mini-stack against a real Docker engine (issue #6): Compose, not the fake,
//! decides what an apply recreates, and this test reads the result with `docker inspect`
//! itself. It fails, loudly, where no Docker engine answers: CI has one.
//!
//! Cheap on a second run: `mini-stack/up.sh` rebuilds the static binary and the image only
//! when the fakes changed (the image is keyed by the binary's hash).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A subnet of this test's own, so a mini-stack on the default subnet can run meanwhile.
const SUBNET: &str = "10.213.77.0/24";

fn mini_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("mini-stack")
}

fn run(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().expect("command runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A mini-stack in a temp dir, torn down on drop (also when an assertion fails).
struct MiniStack {
    dir: tempfile::TempDir,
    down_checked: bool,
}

impl MiniStack {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn pithead(&self, args: &[&str]) -> (i32, String) {
        run(Command::new(self.path().join("pithead"))
            .args(args)
            .env_remove("PITHEAD_FAKE_ENGINE"))
    }

    fn project(&self) -> String {
        let text = std::fs::read_to_string(self.path().join(".pithead-fake/docker.json"))
            .expect("docker.json");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        v["project"].as_str().expect("project").to_string()
    }

    fn filter(&self) -> String {
        format!("label=com.docker.compose.project={}", self.project())
    }

    /// service → (container id, StartedAt), straight from `docker inspect`.
    fn containers(&self) -> BTreeMap<String, (String, String)> {
        let (code, ids) = run(Command::new("docker").args([
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &self.filter(),
        ]));
        assert_eq!(code, 0, "docker ps: {ids}");
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if ids.is_empty() {
            return BTreeMap::new();
        }
        let (code, json) = run(Command::new("docker").arg("inspect").args(&ids));
        assert_eq!(code, 0, "docker inspect: {json}");
        let v: serde_json::Value = serde_json::from_str(&json).expect("inspect json");
        v.as_array()
            .expect("array")
            .iter()
            .map(|c| {
                let s = |p: &str| c.pointer(p).and_then(|x| x.as_str()).unwrap_or("");
                (
                    s("/Config/Labels/com.docker.compose.service").to_string(),
                    (s("/Id").to_string(), s("/State/StartedAt").to_string()),
                )
            })
            .collect()
    }

    fn set(&self, pointer: &[&str], value: &str) {
        let path = self.path().join("config.json");
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut node = &mut v;
        for key in &pointer[..pointer.len() - 1] {
            node = node
                .as_object_mut()
                .unwrap()
                .entry(key.to_string())
                .or_insert_with(|| serde_json::json!({}));
        }
        node[pointer[pointer.len() - 1]] = serde_json::Value::String(value.into());
        std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    }

    fn dashboard_port(&self) -> u16 {
        let text =
            std::fs::read_to_string(self.path().join(".pithead-fake/settings.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["ports"]["dashboard"].as_u64().unwrap() as u16
    }

    fn down(&mut self) -> (i32, String) {
        self.down_checked = true;
        run(Command::new(mini_dir().join("down.sh")).arg(self.path()))
    }
}

impl Drop for MiniStack {
    fn drop(&mut self) {
        if !self.down_checked {
            let _ = self.down();
        }
    }
}

/// Services whose container id changed, whose StartedAt alone changed, and which vanished.
fn diff(
    before: &BTreeMap<String, (String, String)>,
    after: &BTreeMap<String, (String, String)>,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut recreated = Vec::new();
    let mut restarted = Vec::new();
    let mut removed = Vec::new();
    for (service, (id, started)) in before {
        match after.get(service) {
            None => removed.push(service.clone()),
            Some((i, _)) if i != id => recreated.push(service.clone()),
            Some((_, s)) if s != started => restarted.push(service.clone()),
            Some(_) => {}
        }
    }
    (recreated, restarted, removed)
}

fn api_state(port: u16) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("/api/state on 127.0.0.1:{port}: {e}"));
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    s.write_all(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 200"), "/api/state answered {raw}");
    let body = raw.split_once("\r\n\r\n").expect("a body").1;
    serde_json::from_str(body).expect("/api/state is JSON")
}

#[test]
fn compose_recreates_exactly_what_each_flip_changes_and_teardown_leaves_nothing() {
    let (code, info) = run(Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]));
    assert_eq!(
        code, 0,
        "no Docker engine answers (`docker info` failed): this test needs one (CI has it); \
         start dockerd or run mini-stack/ci.sh, which installs and starts one.\n{info}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out) = run(Command::new(mini_dir().join("up.sh"))
        .arg(dir.path())
        .args(["--dashboard-port", "0", "--no-start"]));
    let mut stack = MiniStack {
        dir,
        down_checked: false,
    };
    assert_eq!(code, 0, "mini-stack/up.sh failed: {out}");
    stack.set(&["network", "subnet"], SUBNET);
    let (code, out) = stack.pithead(&["apply", "-y"]);
    assert_eq!(code, 0, "first apply: {out}");
    let start = stack.containers();
    let all: Vec<&str> = vec![
        "caddy",
        "dashboard",
        "docker-control",
        "docker-proxy",
        "monerod",
        "p2pool",
        "tari",
        "tor",
        "xmrig-proxy",
    ];
    assert_eq!(start.keys().map(String::as_str).collect::<Vec<_>>(), all);

    // A pool flip changes P2POOL_FLAGS/P2POOL_PORT: only p2pool interpolates them.
    stack.set(&["p2pool", "pool"], "main");
    let (code, out) = stack.pithead(&["apply", "-y"]);
    assert_eq!(code, 0, "pool flip: {out}");
    let pooled = stack.containers();
    let (recreated, restarted, removed) = diff(&start, &pooled);
    assert_eq!(recreated, ["p2pool"], "pool flip recreated");
    assert!(
        restarted.is_empty() && removed.is_empty(),
        "{restarted:?} {removed:?}"
    );

    // tari local→remote: COMPOSE_PROFILES (tor, dashboard) and TARI_* (p2pool, dashboard)
    // change; tari's profile is removed; monerod restarts with tor (#972).
    stack.set(&["tari", "mode"], "remote");
    let (code, out) = stack.pithead(&["apply", "-y"]);
    assert_eq!(code, 0, "tari flip: {out}");
    let remote = stack.containers();
    let (recreated, restarted, removed) = diff(&pooled, &remote);
    assert_eq!(
        recreated,
        ["dashboard", "p2pool", "tor"],
        "tari flip recreated"
    );
    assert_eq!(restarted, ["monerod"], "tari flip restarted");
    assert_eq!(removed, ["tari"], "tari flip removed");

    // The fake's own view agrees with docker's.
    let (code, ps) = stack.pithead(&["ps", "--format", "json"]);
    assert_eq!(code, 0, "{ps}");
    let ps: serde_json::Value = serde_json::from_str(&ps).expect("ps json");
    for line in ps.as_array().expect("array") {
        let name = line["name"].as_str().unwrap();
        let id = line["id"].as_str().unwrap();
        assert!(remote[name].0.starts_with(id), "{name}: ps id {id}");
        assert_eq!(line["health"], "healthy", "{name}");
    }

    // The dashboard answers on its published port and sees the new config.
    let state = api_state(stack.dashboard_port());
    assert_eq!(state["pool"]["type"], "Main", "{state}");
    assert_eq!(state["sync"]["tari"]["local"], false, "{state}");

    // The daemons end themselves on SIGTERM as PID 1: `stop` exits them with code 0
    // rather than Docker's SIGKILL after the grace period (137).
    let (code, out) = stack.pithead(&["compose", "stop", "caddy"]);
    assert_eq!(code, 0, "compose stop caddy: {out}");
    let (code, exit) = run(Command::new("docker").args([
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}}",
        &remote["caddy"].0,
    ]));
    assert_eq!((code, exit.trim()), (0, "exited 0"), "caddy after stop");

    // A subnet change is cold (#180): refused while containers are attached, applied by
    // `down` then `up`.
    stack.set(&["network", "subnet"], "10.213.78.0/24");
    let (code, out) = stack.pithead(&["apply", "-y"]);
    assert_eq!(code, 1, "a hot subnet change must fail: {out}");
    assert!(out.contains("Pool overlaps"), "{out}");
    assert!(stack.path().join(".env.apply-incomplete").exists());
    let (code, out) = stack.pithead(&["down"]);
    assert_eq!(code, 0, "down: {out}");
    assert!(stack.containers().is_empty(), "down left containers");
    let (code, out) = stack.pithead(&["up"]);
    assert_eq!(code, 0, "up after down: {out}");
    let (_, subnet) = run(Command::new("docker").args([
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
        &format!("{}_mining_net", stack.project()),
    ]));
    assert_eq!(subnet.trim(), "10.213.78.0/24");

    let (code, out) = stack.down();
    assert_eq!(code, 0, "down.sh: {out}");
    assert!(stack.containers().is_empty(), "containers left behind");
    let (_, nets) =
        run(Command::new("docker").args(["network", "ls", "-q", "--filter", &stack.filter()]));
    assert_eq!(nets.trim(), "", "networks left behind");
}
