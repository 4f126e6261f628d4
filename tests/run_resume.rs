//! `canary run --resume`: a box run killed half-way goes on from its journal without repeating
//! an apply that was confirmed, and the box ends restored. Plus the journal reading alone.

#[path = "box_support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use canary::journal::{Entry, Event};
use canary::run::resume::from_entries;
use canary::target::{CommandResult, Observation};
use support::{FakeBox, cli};

fn setup() -> FakeBox {
    let fake = FakeBox::setup();
    // Counts every apply the box receives, and makes each one slow enough to cut.
    support::write_exec(
        &fake.dir().join("counting"),
        "#!/bin/sh\nif [ \"$1\" = apply ]; then echo apply >> applies.log; sleep 0.4; fi\n\
         exec ./pithead \"$@\"\n",
    );
    fake
}

fn applies(fake: &FakeBox) -> usize {
    std::fs::read_to_string(fake.dir().join("applies.log"))
        .unwrap_or_default()
        .lines()
        .count()
}

fn events(journal: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(journal)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn count(evs: &[serde_json::Value], event: &str, step: Option<u64>) -> usize {
    evs.iter()
        .filter(|e| e["event"] == event && step.is_none_or(|s| e["step"] == s))
        .count()
}

#[test]
fn a_killed_run_resumes_without_repeating_confirmed_applies() {
    let fake = setup();
    let before = std::fs::read(fake.dir().join("config.json")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("run");
    let journal = out.join("journal.jsonl");
    // Kill it right after a step's apply was journaled, before that step ended: after the
    // apply and before step_end come readiness, the observation and the second apply
    // (slowed by the wrapper, so this window is wide).
    kill_when(
        &fake,
        work.path(),
        &out,
        "a step between apply and step_end",
        |evs| {
            count(evs, "step_end", None) >= 2
                && evs.last().is_some_and(|e| {
                    ["apply", "ready", "observed"]
                        .iter()
                        .any(|k| e["event"] == *k)
                })
        },
    );
    let evs = events(&journal);
    let confirmed = count(&evs, "step_end", None);
    let cut = confirmed as u64;
    assert_eq!(
        count(&evs, "apply", Some(cut)),
        1,
        "the cut step was applied"
    );
    assert_eq!(count(&evs, "run_end", None), 0);
    let applies_before = applies(&fake);

    let (code, all) = resume(fake.dir(), fake.dashboard_port(), &out, work.path());
    assert_eq!(code, Some(0), "{all}");
    assert!(
        all.contains(&format!("resuming at step {}", confirmed + 1)),
        "{all}"
    );
    assert!(all.contains("box restored and verified"), "{all}");

    let evs = events(&journal);
    let steps = count(&evs, "step_start", None);
    assert!(steps > confirmed + 1, "the walk had more steps to run");
    for s in 0..steps as u64 {
        assert_eq!(count(&evs, "step_end", Some(s)), 1, "step {s} ended once");
        assert_eq!(count(&evs, "apply", Some(s)), 1, "step {s} applied once");
    }
    assert_eq!(count(&evs, "manifest", None), 1);
    assert_eq!(count(&evs, "run_end", None), 1);
    // The box saw: for each step after the cut one apply and one must-be-no-op apply, then
    // the restore's apply. Nothing for the confirmed steps nor for the cut step.
    let resumed_applies = applies(&fake) - applies_before;
    assert_eq!(
        resumed_applies,
        2 * (steps - confirmed - 1) + 1,
        "applies during the resume"
    );
    assert_eq!(
        std::fs::read(fake.dir().join("config.json")).unwrap(),
        before,
        "the box is restored"
    );
    assert!(out.join("report.html").exists());
}

fn entry(seq: u64, event: Event) -> Entry {
    Entry {
        seq,
        ts: String::new(),
        wall_ms: 0,
        event,
    }
}

fn obs(tag: &str) -> Observation {
    Observation {
        status_exit: 0,
        containers: vec![],
        env: std::sync::Arc::new([("TAG".to_string(), tag.to_string())].into()),
        api: std::sync::Arc::new(serde_json::Value::Null),
        secret_fingerprint: String::new(),
    }
}

#[test]
fn the_journal_tells_done_steps_and_the_cut_apply() {
    let ok = CommandResult {
        exit_code: 0,
        output: "Configuration applied.".into(),
    };
    let manifest = Event::Manifest {
        tool_version: "0".into(),
        run_id: "r".into(),
        seed: "5".into(),
        model: "pithead".into(),
        model_hash: "h".into(),
        variant: String::new(),
        target: "local".into(),
        under_test: Default::default(),
        faults: vec![],
        options: Default::default(),
        replay: "canary run".into(),
    };
    let mut es = vec![
        manifest,
        Event::Plan {
            plan: serde_json::json!({"walks": []}),
        },
        Event::Baseline {
            config_sha256: "x".into(),
            observation: obs("base"),
        },
    ];
    for s in 0..2 {
        es.push(Event::Apply {
            step: s,
            result: ok.clone(),
            seconds: 1.0,
        });
        es.push(Event::Observed {
            step: s,
            observation: obs(&format!("after{s}")),
        });
        es.push(Event::StepEnd {
            step: s,
            passed: s == 0,
            seconds: 1.0,
        });
    }
    es.push(Event::Apply {
        step: 2,
        result: ok.clone(),
        seconds: 1.0,
    });
    es.push(Event::Observed {
        step: 2,
        observation: obs("after2"),
    });
    let entries: Vec<Entry> = es
        .into_iter()
        .enumerate()
        .map(|(i, e)| entry(i as u64, e))
        .collect();
    let p = from_entries(&entries).unwrap();
    assert_eq!(p.seed, "5");
    assert_eq!(p.next_step(), 2);
    assert_eq!(p.failed.iter().copied().collect::<Vec<_>>(), [1]);
    assert_eq!(p.half_applied, Some((2, ok)));
    assert_eq!(
        p.last_observed.unwrap().env["TAG"],
        "after1",
        "the before of the cut step is the last done step's observation"
    );
    assert!(!p.ended);

    // Without a cut apply the next step runs afresh.
    let p = from_entries(&entries[..entries.len() - 2]).unwrap();
    assert_eq!(p.half_applied, None);
    // A journal without a manifest is not a run's.
    assert!(from_entries(&entries[1..]).is_err());
}

/// The canary arguments of a walk of `dir` (through its counting wrapper).
fn run_args(dir: &Path, port: u64, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "run",
        "--target",
        "local",
        "--dir",
        &dir.display().to_string(),
        "--pithead",
        "./counting",
        "--api-url",
        &format!("http://127.0.0.1:{port}/api/state"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// Starts a walk of `fake` (seed 11) into `out` and kills it as soon as its journal's events
/// satisfy `when` (`what` names that moment for the timeout message), then waits for the
/// orphaned apply to finish.
fn kill_when(
    fake: &FakeBox,
    work: &Path,
    out: &Path,
    what: &str,
    when: impl Fn(&[serde_json::Value]) -> bool,
) {
    let out_s = out.display().to_string();
    let journal = out.join("journal.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_canary"))
        .args(run_args(
            fake.dir(),
            fake.dashboard_port(),
            &["--seed", "11", "--ready-timeout", "30s", "--out", &out_s],
        ))
        .current_dir(work)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !when(&events(&journal)) {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "never caught {what}"
        );
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(800)); // the orphaned apply finishes
}

/// Starts a walk of `fake` into `out` and kills it once `steps` steps have ended.
fn killed_run(fake: &FakeBox, work: &Path, out: &Path, steps: usize) {
    kill_when(fake, work, out, "a step's end", |evs| {
        count(evs, "step_end", None) >= steps
    });
}

/// `canary run ... --resume OUT` on the box in `dir` from `work`: its exit code and output.
fn resume(dir: &Path, port: u64, out: &Path, work: &Path) -> (Option<i32>, String) {
    cli::outcome(
        run_args(dir, port, &["--resume", &out.display().to_string()]),
        work,
    )
}

#[test]
fn a_resume_onto_another_box_is_refused_before_it_is_touched() {
    let first = setup();
    let other = setup();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("run");
    killed_run(&first, work.path(), &out, 1);
    let journal_before = std::fs::read(out.join("journal.jsonl")).unwrap();
    let other_config = std::fs::read(other.dir().join("config.json")).unwrap();
    let other_env = std::fs::read(other.dir().join(".env")).unwrap();

    let (code, all) = resume(other.dir(), other.dashboard_port(), &out, work.path());
    assert_eq!(code, Some(2), "{all}");
    assert!(all.contains("refusing to resume"), "{all}");
    assert!(all.contains("nothing was changed on it"), "{all}");
    let real = |p: &Path| std::fs::canonicalize(p).unwrap().display().to_string();
    assert!(
        all.contains(&format!(
            "the stack directory: {} now, {} when the run started",
            real(other.dir()),
            real(first.dir())
        )),
        "{all}"
    );
    assert!(all.contains("config.json: sha256"), "{all}");
    assert!(all.contains("the secret fingerprint"), "{all}");
    assert!(
        all.contains(&format!("--target local --dir {}", real(first.dir()))),
        "{all}"
    );
    assert!(!all.contains("resuming at step"), "{all}");
    // The other box was not touched, the run's journal not appended to.
    assert_eq!(applies(&other), 0, "an apply ran on the other box");
    assert_eq!(
        std::fs::read(other.dir().join("config.json")).unwrap(),
        other_config
    );
    assert_eq!(std::fs::read(other.dir().join(".env")).unwrap(), other_env);
    assert_eq!(
        std::fs::read(out.join("journal.jsonl")).unwrap(),
        journal_before
    );

    // The box it started on, reached through a symlink, is the same box: the resume goes on
    // and restores it.
    let link = work.path().join("first-box");
    std::os::unix::fs::symlink(first.dir(), &link).unwrap();
    let (code, all) = resume(&link, first.dashboard_port(), &out, work.path());
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("resuming at step"), "{all}");
    assert!(all.contains("box restored and verified"), "{all}");
}

#[test]
fn a_resume_on_its_own_box_changed_since_is_refused_with_the_way_back() {
    let fake = setup();
    let config = std::fs::read(fake.dir().join("config.json")).unwrap();
    let env = std::fs::read(fake.dir().join(".env")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("run");
    killed_run(&fake, work.path(), &out, 1);
    // Edited by hand since: a config.json neither the snapshot's nor one the walk writes.
    let mut edited: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fake.dir().join("config.json")).unwrap()).unwrap();
    edited["canary_test_note"] = "edited by hand".into();
    std::fs::write(
        fake.dir().join("config.json"),
        serde_json::to_vec_pretty(&edited).unwrap(),
    )
    .unwrap();

    let (code, all) = resume(fake.dir(), fake.dashboard_port(), &out, work.path());
    assert_eq!(code, Some(2), "{all}");
    assert!(all.contains("nor one the walk writes"), "{all}");
    let advice = all
        .split_once("This is the box the run started on, changed since. Put it back with `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(cmd, _)| cmd.to_string())
        .unwrap_or_else(|| panic!("no way back: {all}"));
    let r = Command::new("sh")
        .args(["-c", &advice])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(r.status.success(), "`{advice}` failed: {r:?}");
    assert_eq!(
        std::fs::read(fake.dir().join("config.json")).unwrap(),
        config
    );
    assert_eq!(std::fs::read(fake.dir().join(".env")).unwrap(), env);
}

/// A run killed while writing the cut step's apply record leaves a torn last line. The
/// resume once dropped it silently, applied the step again and failed it as "predicted but
/// not recreated"; now it names the torn line and judges the step from the box as it is.
#[test]
fn a_torn_apply_record_is_reported_and_its_step_judged_from_the_box() {
    let fake = setup();
    let before = std::fs::read(fake.dir().join("config.json")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("run");
    let journal = out.join("journal.jsonl");
    kill_when(&fake, work.path(), &out, "an apply", |evs| {
        count(evs, "step_end", None) >= 2 && evs.last().is_some_and(|e| e["event"] == "apply")
    });
    let evs = events(&journal);
    let confirmed = count(&evs, "step_end", None);
    // Tear the cut step's apply record half-way, as a kill mid-write leaves it.
    let text = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["event"] == "apply" && v["step"] == confirmed as u64
        })
        .unwrap();
    let apply_line = lines[at];
    let mut torn = lines[..at].join("\n");
    torn.push('\n');
    torn.push_str(&apply_line[..apply_line.len() / 2]);
    std::fs::write(&journal, torn).unwrap();
    let applies_before = applies(&fake);

    let (code, all) = resume(fake.dir(), fake.dashboard_port(), &out, work.path());
    assert_eq!(code, Some(0), "{all}");
    assert!(
        all.contains(&format!("line {} of the journal is torn", at + 1)),
        "{all}"
    );
    assert!(!all.contains("not recreated"), "{all}");
    let evs = events(&journal);
    let steps = count(&evs, "step_start", None);
    assert_eq!(count(&evs, "step_end", Some(confirmed as u64)), 1);
    assert_eq!(count(&evs, "run_end", None), 1);
    // The torn step is not applied again: one apply and one no-op apply per later step,
    // then the restore's apply.
    assert_eq!(
        applies(&fake) - applies_before,
        2 * (steps - confirmed - 1) + 1,
        "applies during the resume"
    );
    assert_eq!(
        std::fs::read(fake.dir().join("config.json")).unwrap(),
        before,
        "the box is restored"
    );
}
