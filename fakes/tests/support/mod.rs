//! Shared helpers: a fake box in a temp dir, driven through its `pithead` entry point.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_pithead-fake");

/// One CLI result.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A fake box, torn down on drop.
pub struct FakeBox {
    pub dir: tempfile::TempDir,
}

impl FakeBox {
    /// Sets up a box with ephemeral ports and the given faults, started.
    pub fn new(faults: &[&str]) -> FakeBox {
        Self::with_args(faults, &[])
    }

    pub fn with_args(faults: &[&str], extra: &[&str]) -> FakeBox {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(BIN);
        cmd.arg("setup")
            .arg(dir.path())
            .args(["--dashboard-port", "0"])
            .args(extra);
        if !faults.is_empty() {
            cmd.args(["--faults", &faults.join(",")]);
        }
        let out = cmd.output().expect("run setup");
        assert!(
            out.status.success(),
            "setup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        FakeBox { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().canonicalize().expect("canonical")
    }

    /// Runs `./pithead ARGS` through the generated entry point, from another directory.
    pub fn pithead(&self, args: &[&str]) -> Out {
        let out = Command::new(self.path().join("pithead"))
            .args(args)
            .current_dir("/")
            .env_remove("PITHEAD_FAKE_FAULTS")
            .output()
            .expect("run pithead");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    }

    pub fn apply(&self) -> Out {
        self.pithead(&["apply", "-y"])
    }

    pub fn config(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.path().join("config.json")).unwrap())
            .unwrap()
    }

    pub fn write_config(&self, v: &Value) {
        std::fs::write(
            self.path().join("config.json"),
            serde_json::to_string_pretty(v).unwrap(),
        )
        .unwrap();
    }

    /// Sets a dotted path in config.json.
    pub fn set(&self, path: &str, value: Value) {
        let mut root = self.config();
        let mut node = &mut root;
        let parts: Vec<&str> = path.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            if node.get(*p).is_none() {
                node[*p] = serde_json::json!({});
            }
            node = node.get_mut(*p).unwrap();
        }
        node[parts[parts.len() - 1]] = value;
        self.write_config(&root);
    }

    pub fn env_text(&self) -> String {
        std::fs::read_to_string(self.path().join(".env")).unwrap()
    }

    pub fn env(&self, key: &str) -> String {
        fakes::render::Env::parse(&self.env_text())
            .value(key)
            .to_string()
    }

    pub fn fingerprint(&self) -> String {
        fakes::render::secret_fingerprint(&self.env_text())
    }

    /// `ps --format json` as (name -> (id, started, state, health)).
    pub fn ps(&self) -> Vec<Value> {
        let out = self.pithead(&["ps", "--format", "json"]);
        assert_eq!(out.code, 0, "{}", out.text());
        serde_json::from_str::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn container(&self, name: &str) -> Option<Value> {
        self.ps().into_iter().find(|c| c["name"] == name)
    }

    pub fn port(&self, service: &str) -> u16 {
        let s: Value = serde_json::from_str(
            &std::fs::read_to_string(self.path().join(".pithead-fake/settings.json")).unwrap(),
        )
        .unwrap();
        s["ports"][service].as_u64().unwrap() as u16
    }

    /// GET /api/state over real HTTP.
    pub fn api(&self) -> Value {
        let (code, body) = fakes::http::request(
            self.port("dashboard"),
            "GET",
            "/api/state",
            None,
            Duration::from_secs(3),
        )
        .expect("dashboard answers");
        assert_eq!(code, 200);
        serde_json::from_str(&body).unwrap()
    }

    /// Polls /api/state until `pred` holds (readiness, not a sleep), or panics after 10 s.
    pub fn api_until(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = self.api();
            if pred(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {v}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Every (pid, start) the box has recorded.
    pub fn recorded_pids(&self) -> Vec<(u32, u64)> {
        std::fs::read_to_string(self.path().join(".pithead-fake/pids"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut p = l.split_whitespace();
                Some((p.next()?.parse().ok()?, p.next()?.parse().ok()?))
            })
            .collect()
    }

    pub fn teardown(&self) -> Out {
        let out = Command::new(BIN)
            .arg("teardown")
            .arg(self.path())
            .output()
            .unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    }
}

impl Drop for FakeBox {
    fn drop(&mut self) {
        let _ = Command::new(BIN)
            .arg("teardown")
            .arg(self.dir.path())
            .output();
    }
}

pub fn alive(pid: u32, start: u64) -> bool {
    fakes::engine::liveness(pid, start) != fakes::engine::Liveness::Gone
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
