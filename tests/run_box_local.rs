//! `canary run --target local` end to end against the fake box (`pithead-fake setup`): a
//! pairwise walk passes and the box is put back byte for byte, no secret reaches any file of
//! the run, a fault fails the run with its replay line and artifacts, Ctrl-C restores the box,
//! hostile values stay data, and `--check` judges the box without touching it.

#[path = "box_support/mod.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use canary::redact::{is_secret_env_key, parse_env};
use support::cli::{self, canary, text};
use support::{FakeBox, files_under};

/// A 64-hex Monero view key supplied on the command line: a secret prerequisite.
const VIEW_KEY: &str = "5eed5eed0123456789abcdef0123456789abcdef0123456789abcdef5eed5eed";
/// A password planted in the box's config.json.
const PLANTED_PW: &str = "planted-dash-pw-93e1c7";

fn setup(faults: &[&str]) -> FakeBox {
    FakeBox::setup_with_faults(faults)
}

/// A `pithead` wrapper in the box: logs each apply with the config.json it applies, prints
/// config.json and the .env secrets on apply (a chatty CLI the journal must not leak), and
/// waits `delay` seconds per apply so a walk can be interrupted half-way.
fn wrapper(fake: &FakeBox, delay: &str) -> &'static str {
    let text = format!(
        "#!/bin/sh\nif [ \"$1\" = apply ]; then\n  cat config.json >> applied.log\n  \
         echo '--' >> applied.log\n  cat config.json\n  grep -E 'TOKEN|ONION|PASSWORD' .env\n  \
         sleep {delay}\nfi\nexec ./pithead \"$@\"\n"
    );
    support::write_exec(&fake.dir().join("chatty"), &text);
    "./chatty"
}

fn box_args(fake: &FakeBox, pithead: &str) -> Vec<String> {
    let mut args = cli::on_box(fake, "run", None);
    args.extend(["--pithead", pithead, "--seed", "7"].map(String::from));
    args
}

fn plant_password(fake: &FakeBox) {
    let p = fake.dir().join("config.json");
    let mut c: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    c["dashboard"] = serde_json::json!({"auth": {"password": PLANTED_PW}});
    std::fs::write(&p, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    // Settle the box on it: the walk starts from an applied config.
    let o = Command::new(fake.dir().join("pithead"))
        .args(["apply", "-y"])
        .current_dir(fake.dir())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

/// Every secret of the box: its .env secret values, the planted password, the view key.
fn secrets(fake: &FakeBox) -> Vec<String> {
    let env = std::fs::read_to_string(fake.dir().join(".env")).unwrap();
    let mut out: Vec<String> = parse_env(&env)
        .into_iter()
        .filter(|(k, v)| is_secret_env_key(k) && v.len() >= 8 && v != "placeholder")
        .map(|(_, v)| v)
        .collect();
    assert!(
        out.iter().any(|v| v.len() >= 32),
        "the fake box has provisioned secrets: {out:?}"
    );
    out.push(PLANTED_PW.into());
    out.push(VIEW_KEY.into());
    out
}

fn assert_no_secret_under(dir: &Path, secrets: &[String]) {
    let files = files_under(dir);
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let t = String::from_utf8_lossy(&bytes);
        for s in secrets {
            assert!(!t.contains(s.as_str()), "{} leaks {s}", f.display());
        }
    }
}

fn read_config(fake: &FakeBox) -> Vec<u8> {
    std::fs::read(fake.dir().join("config.json")).unwrap()
}

#[test]
fn a_pairwise_walk_passes_restores_the_box_and_leaks_no_secret() {
    let fake = setup(&[]);
    plant_password(&fake);
    let pithead = wrapper(&fake, "0");
    let before = read_config(&fake);
    let work = tempfile::tempdir().unwrap();
    let out_dir = work.path().join("run");
    let mut args = box_args(&fake, pithead);
    args.extend([
        "--supply".into(),
        format!("monero_view_key={VIEW_KEY}"),
        "--out".into(),
        out_dir.display().to_string(),
    ]);
    let o = canary(&args, work.path());
    let all = text(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(all.contains("PASSED"), "{all}");
    assert!(all.contains("box restored and verified"), "{all}");
    assert!(all.contains("reports: "), "{all}");
    assert!(all.contains("SKIPPED monero.mode=remote: "), "{all}");
    assert!(
        !all.contains("SKIPPED monero.view_key"),
        "the view key was supplied: {all}"
    );
    assert_eq!(
        read_config(&fake),
        before,
        "config.json is back byte for byte"
    );

    // The walk really wrote the secrets into config.json, and the CLI printed them.
    let applied = std::fs::read_to_string(fake.dir().join("applied.log")).unwrap();
    assert!(applied.contains(VIEW_KEY), "a step set the view key");
    assert!(applied.contains(PLANTED_PW));

    let snap = out_dir.join(".canary-snapshot");
    let mode = std::fs::metadata(&snap).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    for f in [
        "journal.jsonl",
        "report.html",
        "summary.json",
        "junit.xml",
        "steps.csv",
    ] {
        assert!(out_dir.join(f).exists(), "{f} missing");
    }
    let journal = std::fs::read_to_string(out_dir.join("journal.jsonl")).unwrap();
    assert!(journal.contains("<redacted:"), "redaction happened");
    let secrets = secrets(&fake);
    assert_no_secret_under(&out_dir, &secrets);
    for s in &secrets {
        assert!(!all.contains(s.as_str()), "the console leaks {s}");
    }
}

/// DASHBOARD_TZ as the box's .env has it.
fn dashboard_tz(fake: &FakeBox) -> String {
    let env = std::fs::read_to_string(fake.dir().join(".env")).unwrap();
    parse_env(&env)
        .into_iter()
        .find(|(k, _)| k == "DASHBOARD_TZ")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[test]
fn a_walk_on_a_box_in_its_own_zone_leaves_dashboard_tz_alone() {
    let fake = setup(&[]);
    // A box whose last apply ran in Berlin (dashboard.timezone on auto renders the caller's TZ).
    let env_path = fake.dir().join(".env");
    let env = std::fs::read_to_string(&env_path).unwrap();
    let env: String = env
        .lines()
        .map(|l| {
            if l.starts_with("DASHBOARD_TZ=") {
                "DASHBOARD_TZ=Europe/Berlin".to_string()
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    std::fs::write(&env_path, env).unwrap();
    assert_eq!(dashboard_tz(&fake), "Europe/Berlin");
    // Logs DASHBOARD_TZ as each apply left it.
    support::write_exec(
        &fake.dir().join("tzlog"),
        "#!/bin/sh
./pithead \"$@\"; rc=$?
         [ \"$1\" = apply ] && grep '^DASHBOARD_TZ=' .env >> tz.log
exit $rc
",
    );
    let work = tempfile::tempdir().unwrap();
    let out_dir = work.path().join("run");
    let mut args = box_args(&fake, "./tzlog");
    args.extend([
        "--max-steps".into(),
        "3".into(),
        "--out".into(),
        out_dir.display().to_string(),
    ]);
    let o = canary(&args, work.path());
    let all = text(&o);
    assert!(all.contains("box restored and verified"), "{all}");
    let log = std::fs::read_to_string(fake.dir().join("tz.log")).unwrap();
    assert!(log.lines().count() >= 2, "a walk and its restore: {log}");
    assert!(
        log.lines().all(|l| l == "DASHBOARD_TZ=Europe/Berlin"),
        "an apply changed DASHBOARD_TZ: {log}"
    );
    assert_eq!(dashboard_tz(&fake), "Europe/Berlin", "after the restore");
    let journal = std::fs::read_to_string(out_dir.join("journal.jsonl")).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    assert_eq!(manifest["under_test"]["tz"], "Europe/Berlin", "{manifest}");
    assert_eq!(o.status.code(), Some(0), "{all}");
}

#[test]
fn a_fault_fails_the_run_with_its_replay_line_and_artifacts() {
    let fake = setup(&["spurious-diff"]);
    let before = read_config(&fake);
    let work = tempfile::tempdir().unwrap();
    let out_dir = work.path().join("run");
    let mut args = box_args(&fake, "./pithead");
    args.extend([
        "--max-steps".into(),
        "2".into(),
        "--compose".into(),
        "./pithead compose".into(),
        "--op-timescale".into(),
        "1/20".into(),
        "--out".into(),
        out_dir.display().to_string(),
    ]);
    let o = canary(&args, work.path());
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("FAILED: first failure"), "{all}");
    let replay = all
        .lines()
        .find_map(|l| l.strip_prefix("replay: "))
        .unwrap_or_else(|| panic!("no replay line: {all}"));
    assert!(replay.starts_with("canary run --seed 7 "), "{replay}");
    // Every box flag of the run is in it, so the line replays this very run.
    for flag in [
        "--target local",
        "--max-steps 2",
        "--compose './pithead compose'",
        "--op-timescale 0.05",
        "--ready-timeout 30s",
    ] {
        assert!(replay.contains(flag), "{flag} missing: {replay}");
    }
    let artifacts: Vec<PathBuf> = std::fs::read_dir(out_dir.join("artifacts"))
        .expect("artifacts were captured")
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!artifacts.is_empty());
    for a in &artifacts {
        for f in ["status.txt", "config.json", "env.txt", "api-state.json"] {
            assert!(a.join(f).exists(), "{} lacks {f}", a.display());
        }
    }
    assert_eq!(
        read_config(&fake),
        before,
        "restored after a failing run too"
    );
    assert_no_secret_under(&out_dir, &secrets(&fake));
}

fn step_ends(journal: &Path) -> usize {
    std::fs::read_to_string(journal)
        .unwrap_or_default()
        .matches("\"event\":\"step_end\"")
        .count()
}

#[test]
fn ctrl_c_in_the_middle_of_a_walk_restores_the_box() {
    let fake = setup(&[]);
    let pithead = wrapper(&fake, "0.5");
    let before = read_config(&fake);
    let work = tempfile::tempdir().unwrap();
    let out_dir = work.path().join("run");
    let mut args = box_args(&fake, pithead);
    args.extend(["--out".into(), out_dir.display().to_string()]);
    let child = cli::spawn(&args, work.path());
    let start = Instant::now();
    while step_ends(&out_dir.join("journal.jsonl")) < 2 {
        assert!(start.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_ne!(read_config(&fake), before, "the walk changed the box");
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    let all = text(&o);
    assert_eq!(o.status.code(), Some(130), "{all}");
    assert!(all.contains("box restored and verified"), "{all}");
    assert!(all.contains("interrupted"), "{all}");
    assert_eq!(
        read_config(&fake),
        before,
        "config.json is back byte for byte"
    );
    let journal = std::fs::read_to_string(out_dir.join("journal.jsonl")).unwrap();
    assert!(journal.contains("\"event\":\"run_end\""), "{journal}");
    assert!(
        step_ends(&out_dir.join("journal.jsonl")) < 8,
        "the walk was cut short"
    );
}

#[test]
fn hostile_supplied_values_are_written_as_data() {
    let fake = setup(&[]);
    let pithead = wrapper(&fake, "0");
    let before = read_config(&fake);
    let work = tempfile::tempdir().unwrap();
    let out_dir = work.path().join("run");
    let pwned = work.path().join("PWNED");
    // A host is checked for its form before anything runs: refused, the box untouched.
    let hostile_host = format!("node.lan'\"; touch {p}\nx", p = pwned.display());
    let mut args = box_args(&fake, pithead);
    args.extend([
        "--supply".into(),
        format!("remote_monero_host={hostile_host}"),
    ]);
    let o = canary(&args, work.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!fake.dir().join("applied.log").exists());
    // A path may hold quotes and shell syntax: it must still reach the box as data.
    let hostile = format!(
        "/srv/full'\"; touch {p}; $(touch {p}) `touch {p}`",
        p = pwned.display()
    );
    let mut args = box_args(&fake, pithead);
    args.extend([
        "--supply".into(),
        format!("full_data_dir={hostile}"),
        "--out".into(),
        out_dir.display().to_string(),
    ]);
    let o = canary(&args, work.path());
    let all = text(&o);
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "{all}");
    assert!(!pwned.exists(), "a hostile value was executed: {all}");
    assert!(!fake.dir().join("PWNED").exists());
    // The value reached config.json intact, as a JSON string.
    let applied = std::fs::read_to_string(fake.dir().join("applied.log")).unwrap();
    let as_json = serde_json::to_string(&hostile).unwrap();
    assert!(applied.contains(&as_json), "{applied}");
    assert_eq!(read_config(&fake), before);
}

#[test]
fn check_judges_the_box_without_touching_it() {
    let fake = setup(&[]);
    let before = read_config(&fake);
    let work = tempfile::tempdir().unwrap();
    let mut args = box_args(&fake, "./pithead");
    args.push("--check".into());
    // Wait until the fake's daemons answer: --check does not wait.
    let start = Instant::now();
    let o = loop {
        let o = canary(&args, work.path());
        if o.status.code() == Some(0) || start.elapsed() > Duration::from_secs(30) {
            break o;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("OK:"), "{}", text(&o));
    let st = Command::new(fake.dir().join("pithead"))
        .args(["compose", "stop", "tor"])
        .current_dir(fake.dir())
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", text(&st));
    let o = canary(&args, work.path());
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("FAIL") && all.contains("tor"), "{all}");
    assert_eq!(read_config(&fake), before, "--check wrote nothing");
    assert_eq!(
        std::fs::read_dir(work.path()).unwrap().count(),
        0,
        "--check left no run directory"
    );
}

#[test]
fn verbose_logs_each_box_command_by_program_only() {
    let fake = setup(&[]);
    let work = tempfile::tempdir().unwrap();
    let mut args = box_args(&fake, "./pithead");
    args.push("--check".into());
    let quiet = canary(&args, work.path());
    assert!(
        !String::from_utf8_lossy(&quiet.stderr).contains("command finished"),
        "{}",
        text(&quiet)
    );
    let mut verbose = vec!["-vv".to_string()];
    verbose.extend(args);
    let o = canary(&verbose, work.path());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("command finished"), "{}", text(&o));
    assert!(err.contains("executor=\"local\""), "{err}");
    // Scripts are arguments and never logged: the atomic-write helper's text stays out.
    assert!(!err.contains("mv -f"), "{err}");
}

#[test]
fn keep_leaves_the_box_as_the_walk_left_it() {
    let fake = setup(&[]);
    let before = read_config(&fake);
    let work = tempfile::tempdir().unwrap();
    let mut args = box_args(&fake, "./pithead");
    args.extend([
        "--keep".into(),
        "--max-steps".into(),
        "2".into(),
        "--out".into(),
        work.path().join("run").display().to_string(),
    ]);
    let o = canary(&args, work.path());
    let all = text(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(all.contains("--keep: the box is left"), "{all}");
    assert!(!all.contains("box restored"), "{all}");
    assert_ne!(read_config(&fake), before, "not restored");
}

/// A run killed outright between emptying the proxy token and putting it back leaves the
/// original .env in the box's side file: the next run puts it back before it snapshots the
/// box. The operation options are recorded in the manifest.
#[test]
fn a_token_left_emptied_by_a_killed_run_is_put_back_first() {
    let fake = setup(&[]);
    let env_path = fake.dir().join(".env");
    let original = std::fs::read(&env_path).unwrap();
    let kept = fake.dir().join(canary::target::box_target::KEPT_ENV);
    std::fs::write(&kept, &original).unwrap();
    let token = parse_env(&String::from_utf8_lossy(&original))
        .into_iter()
        .find(|(k, _)| k == "PROXY_AUTH_TOKEN")
        .unwrap()
        .1;
    let emptied = String::from_utf8_lossy(&original)
        .replace(&format!("PROXY_AUTH_TOKEN={token}"), "PROXY_AUTH_TOKEN=");
    std::fs::write(&env_path, emptied).unwrap();
    let work = tempfile::tempdir().unwrap();
    let out_dir = work.path().join("run");
    let mut args = box_args(&fake, "./pithead");
    args.extend([
        "--max-steps".into(),
        "1".into(),
        "--op-timescale".into(),
        "1/30".into(),
        "--compose".into(),
        "./pithead compose".into(),
        "--out".into(),
        out_dir.display().to_string(),
    ]);
    let o = canary(&args, work.path());
    let all = text(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(all.contains("put back .env"), "{all}");
    assert_eq!(
        std::fs::read(&env_path).unwrap(),
        original,
        "the exact .env"
    );
    assert!(!kept.exists());
    assert!(!all.contains(token.as_str()), "the token leaked");
    let journal = std::fs::read_to_string(out_dir.join("journal.jsonl")).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    let scale = manifest["options"]["op_timescale"].as_f64().unwrap();
    assert!((scale - 1.0 / 30.0).abs() < 1e-12, "{manifest}");
    assert_eq!(manifest["under_test"]["compose"], "./pithead compose");
}

#[test]
fn box_options_are_checked_before_anything_runs() {
    let work = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        canary(&a, work.path())
    };
    let o = run(&["run", "--target", "local"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--dir"), "{}", text(&o));
    let o = run(&["run", "--target", "ssh", "--dir", "/srv/pithead"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--host"), "{}", text(&o));
    let o = run(&["run", "--resume", "somewhere"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("box run"), "{}", text(&o));
    let o = run(&["run", "--check"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["run", "--op-timescale", "1/30"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("simulator"), "{}", text(&o));
    let o = run(&[
        "run",
        "--target",
        "local",
        "--dir",
        "/x",
        "--op-timescale",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[
        "run",
        "--target",
        "local",
        "--dir",
        "/nonexistent-stack",
        "--fault",
        "spurious-path-diff",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("pithead-fake setup"), "{}", text(&o));
    let o = run(&["run", "--target", "local", "--dir", "/nonexistent-stack"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("does not exist"), "{}", text(&o));
    assert_eq!(
        std::fs::read_dir(work.path()).unwrap().count(),
        0,
        "nothing was written"
    );
}

/// A CLI that cannot be run is one clear target error before the walk (exit 2, no run
/// directory), not every container "no longer running" at every step.
#[test]
fn a_pithead_that_cannot_run_is_refused_before_the_walk() {
    let fake = setup(&[]);
    let before = read_config(&fake);
    let work = tempfile::tempdir().unwrap();
    // The entry point is a symlink to the shared fake binary: replace it by a script that is
    // not executable (a chmod would follow the link and break every other fake box).
    let cli = fake.dir().join("pithead");
    let bin = std::fs::read_link(&cli).unwrap();
    std::fs::remove_file(&cli).unwrap();
    std::fs::write(
        &cli,
        format!("#!/bin/sh\nexec '{}' cli \"$@\"\n", bin.display()),
    )
    .unwrap();
    std::fs::set_permissions(&cli, std::fs::Permissions::from_mode(0o644)).unwrap();
    let chatty = wrapper(&fake, "0"); // executable itself, exec's the broken CLI
    for (pithead, why) in [("./pithead", "exited 126"), (chatty, "exited 126")] {
        let out_dir = work.path().join("run");
        let mut args = box_args(&fake, pithead);
        args.extend(["--out".into(), out_dir.display().to_string()]);
        let o = canary(&args, work.path());
        let all = text(&o);
        assert_eq!(o.status.code(), Some(2), "{pithead}: {all}");
        assert!(
            all.contains(why) && all.contains("--pithead"),
            "{pithead}: {all}"
        );
        assert!(!all.contains("FAIL"), "{pithead}: {all}");
        assert!(!out_dir.exists(), "{pithead}: a run directory was written");
    }
    assert_eq!(read_config(&fake), before);
}
