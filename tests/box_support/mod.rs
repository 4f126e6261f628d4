//! Shared parts of the box and SSH tests: a scripted box in a temp dir (a small shell-script
//! `pithead` that logs its calls) and a real sshd on 127.0.0.1 with throwaway keys.
#![allow(dead_code)]

pub mod cli;
#[path = "../cli_support/mod.rs"]
mod cli_run;

#[allow(unused_imports)]
pub use cli_run::files_under;
pub mod ops;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use canary::exec::{KnownHostsPolicy, SshOptions};
use canary::safety::{RestoreOptions, Snapshot, restore};
use canary::target::box_target::{BoxKind, BoxTarget, BoxTargetOptions, ContainerList};

/// A secret planted in the box's .env: it must never appear in anything canary writes.
pub const PLANTED_TOKEN: &str = "planted-proxy-token-7f3a9c";
/// A secret planted in config.json.
pub const PLANTED_PASSWORD: &str = "planted-dashboard-pw-51d2";

const PITHEAD: &str = r#"#!/bin/sh
# A scripted stand-in for the pithead CLI: logs every call with the environment it saw.
cd "$(dirname "$0")" || exit 2
echo "$* | TZ=${TZ:-} LC_ALL=${LC_ALL:-}" >> calls.log
case "$1" in
  apply)
    new=$(sha256sum config.json | cut -c1-16)
    old=$(grep '^CONFIG_SHA=' .env | cut -d= -f2)
    if [ "$new" = "$old" ]; then echo "No configuration changes detected. Nothing to apply."; exit 0; fi
    if [ -f apply.fail ]; then echo "error: compose up failed"; exit 1; fi
    grep -v '^CONFIG_SHA=' .env > .env.new; echo "CONFIG_SHA=$new" >> .env.new; mv .env.new .env
    echo "Configuration applied."
    exit 0 ;;
  status)
    echo "status sees $(grep '^PROXY_AUTH_TOKEN=' .env)"
    exit "$(cat status.code 2>/dev/null || echo 0)" ;;
  ps) cat containers.jsonl ;;
  doctor) echo "All checks passed."; exit 0 ;;
  logs) echo "p2pool: authenticated with $(grep '^PROXY_AUTH_TOKEN=' .env | cut -d= -f2)" ;;
  *) echo "unknown command: $1" >&2; exit 1 ;;
esac
"#;

/// A scripted box in a temp dir.
pub struct ScriptedBox {
    pub tmp: tempfile::TempDir,
}

impl ScriptedBox {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let d = tmp.path();
        write_exec(&d.join("pithead"), PITHEAD);
        std::fs::write(
            d.join("config.json"),
            format!(
                "{{\n  \"config_version\": \"2.0.0\",\n  \"p2pool\": {{\"pool\": \"mini\"}},\n  \
                 \"dashboard\": {{\"auth\": {{\"password\": \"{PLANTED_PASSWORD}\"}}}}\n}}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            d.join(".env"),
            format!(
                "DEPLOYMENT_COMPLETED=true\nXVB_ENABLED=true\nPROXY_AUTH_TOKEN={PLANTED_TOKEN}\n\
                 P2POOL_ONION_ADDRESS=abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion\n\
                 MONERO_ONION_ADDRESS=placeholder\nDASHBOARD_TZ=UTC\nCONFIG_SHA=none\n"
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("containers.jsonl"),
            "{\"name\":\"tor\",\"id\":\"t1\",\"started\":\"s1\",\"state\":\"running\",\"health\":\"healthy\"}\n\
             {\"name\":\"p2pool\",\"id\":\"p1\",\"started\":\"s1\",\"state\":\"running\",\"health\":null}\n",
        )
        .unwrap();
        std::fs::write(
            d.join("api-state.json"),
            format!("{{\"pool\":{{\"type\":\"mini\"}},\"debug\":\"token={PLANTED_TOKEN}\"}}"),
        )
        .unwrap();
        ScriptedBox { tmp }
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    pub fn dir_str(&self) -> String {
        self.dir().to_str().unwrap().to_string()
    }

    /// Options for the local target against this box.
    pub fn local_options(&self) -> BoxTargetOptions {
        self.options(BoxKind::Local {
            dir: self.dir_str(),
        })
    }

    pub fn options(&self, kind: BoxKind) -> BoxTargetOptions {
        let mut o = BoxTargetOptions::new(kind);
        o.containers = Some(ContainerList::PitheadPs);
        o.api_url = format!("file://{}/api-state.json", self.dir_str());
        o.command_timeout = Duration::from_secs(20);
        o.apply_timeout = Duration::from_secs(20);
        o
    }

    pub fn calls(&self) -> String {
        std::fs::read_to_string(self.dir().join("calls.log")).unwrap_or_default()
    }

    /// The fingerprint as Pithead defines it, computed here independently.
    pub fn expected_fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let env = std::fs::read_to_string(self.dir().join(".env")).unwrap();
        let keys = [
            "PROXY_AUTH_TOKEN=",
            "MONERO_ONION_ADDRESS=",
            "TARI_ONION_ADDRESS=",
            "P2POOL_ONION_ADDRESS=",
            "DASHBOARD_ONION_ADDRESS=",
        ];
        let mut lines: Vec<&str> = env
            .lines()
            .filter(|l| keys.iter().any(|k| l.starts_with(k)))
            .collect();
        lines.sort();
        let mut text = lines.join("\n");
        text.push('\n');
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// How a test restores the scripted box: a readiness wait of `ready_secs`, polled every 50 ms.
pub fn quick_restore(ready_secs: u64) -> RestoreOptions {
    RestoreOptions {
        ready_timeout: Duration::from_secs(ready_secs),
        poll: Duration::from_millis(50),
        ..RestoreOptions::default()
    }
}

/// Writes an executable script.
pub fn write_exec(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

const SSHD: &str = "/usr/sbin/sshd";

/// A real sshd on 127.0.0.1 with a throwaway host key and a key-only login for the current
/// user, plus an ssh_config naming it `canary-test`.
pub struct Sshd {
    pub tmp: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl Sshd {
    /// Starts sshd. Panics (the test fails) with what to install when sshd is missing: an SSH
    /// test that silently passes without sshd would prove nothing.
    pub fn start() -> Self {
        Self::start_with(true)
    }

    /// Starts sshd; with `clean_home` false the login shell keeps the user's own home and rc
    /// files (to measure what they cost).
    pub fn start_with(clean_home: bool) -> Self {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: the SSH tests need a real sshd. Install it with \
             `apt-get install -y openssh-server` (Debian/Ubuntu)"
        );
        // sshd refuses to start without its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for key in ["host_key", "client_key"] {
            let st = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(key))
                .status()
                .expect("ssh-keygen (install openssh-client)");
            assert!(st.success(), "ssh-keygen failed");
        }
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        // The login shell reads ~/.bashrc even for `ssh host command` (Debian builds bash
        // that way); a heavy rc costs every command. The test box gets an empty home.
        std::fs::create_dir_all(d.join("home")).unwrap();
        let port = free_port();
        let user = current_user();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile {pid}\n\
                 AuthorizedKeysFile {ak}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n\
                 MaxSessions 50\nMaxStartups 50\nLogLevel ERROR\nSetEnv HOME={home}\n",
                home = if clean_home { d.join("home") } else { std::env::var("HOME").unwrap_or_default().into() }.display(),
                hk = d.join("host_key").display(),
                pid = d.join("sshd.pid").display(),
                ak = d.join("authorized_keys").display(),
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("ssh_config"),
            format!(
                "Host canary-test\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  \
                 IdentityFile {key}\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  \
                 UserKnownHostsFile /dev/null\n  LogLevel ERROR\n",
                key = d.join("client_key").display(),
            ),
        )
        .unwrap();
        let mut s = Sshd {
            tmp,
            port,
            child: None,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let d = self.tmp.path();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(d.join("sshd.log"))
                    .unwrap(),
            ))
            .spawn()
            .expect("start sshd");
        self.child = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if start.elapsed() > Duration::from_secs(10) {
                let log = std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default();
                panic!(
                    "sshd did not listen on 127.0.0.1:{} within 10 s: {log}",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills sshd and every session process it forked (by pid), dropping open connections.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = c.id() as i32;
            for p in descendants(pid) {
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts sshd again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// SSH options for the box target: this sshd's config file, a private control directory.
    pub fn ssh_options(&self) -> SshOptions {
        let mut o = SshOptions::new("canary-test");
        o.config_file = Some(self.tmp.path().join("ssh_config"));
        o.known_hosts = KnownHostsPolicy::Accept;
        o.control_directory = Some(self.tmp.path().to_path_buf());
        o.reconnect_backoff = Duration::from_millis(100);
        o
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// All processes whose parent chain leads to `root` (found through /proc).
fn descendants(root: i32) -> Vec<i32> {
    let mut parents: Vec<(i32, i32)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // The ppid is the second field after the parenthesised command name.
            if let Some((_, rest)) = stat.rsplit_once(')')
                && let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok())
            {
                parents.push((pid, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(c, pp) in &parents {
            if pp == p && !out.contains(&c) {
                out.push(c);
                frontier.push(c);
            }
        }
    }
    out
}

/// Writes `text` to a file (used to flip the scripted box's behaviour).
pub fn put(path: &Path, text: &str) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Builds (if needed) and finds `pithead-fake` beside this test's own target directory.
pub fn fake_binary() -> PathBuf {
    let st = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "fakes", "--bin", "pithead-fake"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo to build the fake box");
    assert!(st.success(), "building pithead-fake failed");
    // target/debug/deps/<this test> → target/debug
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("pithead-fake");
    assert!(bin.exists(), "{} missing after the build", bin.display());
    bin
}

pub struct FakeBox {
    pub bin: PathBuf,
    pub tmp: tempfile::TempDir,
}

impl FakeBox {
    pub fn setup() -> Self {
        Self::setup_with_faults(&[])
    }

    /// A fake box with `faults` (the fake's names) switched on.
    pub fn setup_with_faults(faults: &[&str]) -> Self {
        Self::setup_with(faults, &[])
    }

    /// A fake box with `faults` switched on and more `pithead-fake setup` options (e.g.
    /// `--tari-modes local,remote` for an older build).
    pub fn setup_with(faults: &[&str], options: &[&str]) -> Self {
        let bin = fake_binary();
        let tmp = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(&bin);
        cmd.arg("setup")
            .arg(tmp.path())
            .args(["--dashboard-port", "0"])
            .args(options);
        if !faults.is_empty() {
            cmd.args(["--faults", &faults.join(",")]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "setup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        FakeBox { bin, tmp }
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    pub fn dashboard_port(&self) -> u64 {
        let s: serde_json::Value = serde_json::from_slice(
            &std::fs::read(self.dir().join(".pithead-fake/settings.json")).unwrap(),
        )
        .unwrap();
        s["ports"]["dashboard"]
            .as_u64()
            .expect("dashboard port in settings.json")
    }
}

impl FakeBox {
    /// Options reaching this box over SSH through `sshd`: its dashboard's API, 30 s a command.
    pub fn ssh_options(&self, sshd: &Sshd) -> BoxTargetOptions {
        let mut o = BoxTargetOptions::new(BoxKind::Ssh {
            host: "canary-test".into(),
            dir: self.dir().to_str().unwrap().into(),
        });
        o.ssh = Some(sshd.ssh_options());
        o.api_url = format!("http://127.0.0.1:{}/api/state", self.dashboard_port());
        o.command_timeout = Duration::from_secs(30);
        o
    }

    /// Restores `snap` through `t` (30 s to be ready, polled every 100 ms) and asserts the box
    /// is back: a clean report, config.json byte for byte.
    pub async fn assert_restored(&self, t: &mut BoxTarget, snap: &Snapshot) {
        let opts = RestoreOptions {
            ready_timeout: Duration::from_secs(30),
            poll: Duration::from_millis(100),
            ..RestoreOptions::default()
        };
        let report = restore(t, snap, &opts).await.unwrap();
        assert!(report.is_clean(), "{:?}", report.differences);
        assert_eq!(
            std::fs::read(self.dir().join("config.json")).unwrap(),
            snap.config
        );
    }
}

impl Drop for FakeBox {
    fn drop(&mut self) {
        let _ = Command::new(&self.bin)
            .arg("teardown")
            .arg(self.tmp.path())
            .status();
    }
}
