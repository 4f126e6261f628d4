//! The step runner against a scripted target: readiness polling, continue-on-error and
//! fail-fast, the journal it streams, and its determinism.

mod run_files;

mod run_support;

use std::time::Duration;

use canary::journal::{Event, JournalWriter, read_journal};
use canary::model::Supplied;
use canary::plan::Step;
use canary::run::{
    ReadinessPolicy, RunError, RunOptions, RunOutcome, Sink, StepReport, check_walk, run_walk,
    snapshot,
};
use run_files::without_wall_clock;
use run_support::{ScriptedTarget, pithead, walk};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn flips(model: &canary::model::Model) -> Vec<Step> {
    walk(
        model,
        &[
            &[("p2pool.pool", "main")],
            &[("xvb.enabled", "false")],
            &[("dashboard.secure", "false")],
            &[("tari.mode", "off")],
            &[("monero.rpc_lan_access", "true")],
            &[("tari.mode", "local"), ("p2pool.pool", "mini")],
        ],
    )
}

fn run_journaled(
    target: &mut ScriptedTarget,
    steps: &[Step],
    options: &RunOptions,
    path: &std::path::Path,
) -> Result<RunOutcome, RunError> {
    let model = pithead();
    let mut journal = JournalWriter::create(path).unwrap();
    rt().block_on(async {
        let baseline = snapshot(target).await.unwrap();
        run_walk(
            target,
            &model,
            &Supplied::default(),
            &baseline,
            steps,
            options,
            &mut journal,
        )
        .await
    })
}

/// The in-process fast path of `steps` on `target`.
fn checked(
    target: &mut ScriptedTarget,
    model: &canary::model::Model,
    steps: &[Step],
    options: &RunOptions,
) -> RunOutcome {
    rt().block_on(check_walk(
        target,
        model,
        &Supplied::default(),
        steps,
        options,
    ))
    .unwrap()
}

fn event_names(path: &std::path::Path) -> Vec<String> {
    read_journal(path)
        .unwrap()
        .into_iter()
        .map(|e| {
            serde_json::to_value(&e.event).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn a_faithful_box_passes_and_the_journal_tells_each_step_in_order() {
    let model = pithead();
    let steps = flips(&model);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let mut target = ScriptedTarget::new(model.clone());
    let out = run_journaled(&mut target, &steps, &RunOptions::default(), &path).unwrap();
    assert!(out.passed(), "{:#?}", out.failures);
    assert_eq!(out.steps_run, steps.len());
    assert_eq!(out.exit_code(), 0);
    assert!(out.verdicts_passed >= steps.len() * 20);

    let names = event_names(&path);
    assert_eq!(names[0], "baseline");
    assert_eq!(names.last().unwrap(), "run_end");
    let first_step: Vec<&str> = names[1..]
        .iter()
        .map(String::as_str)
        .take_while(|n| *n != "step_end")
        .filter(|n| *n != "verdict")
        .collect();
    assert_eq!(
        first_step,
        ["step_start", "apply", "ready", "observed", "second_apply"]
    );
    let entries = read_journal(&path).unwrap();
    // Time to ready is the scripted 30 s, found by polling, not by a fixed sleep.
    let ready: Vec<f64> = entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::Ready {
                reached: true,
                seconds,
                ..
            } => Some(*seconds),
            _ => None,
        })
        .collect();
    assert_eq!(ready.len(), steps.len());
    assert!(ready.iter().all(|s| (30.0..=45.0).contains(s)), "{ready:?}");
    // The tari off step removed tari and restarted monerod, as predicted, and was judged so.
    let tari_off = entries.iter().find_map(|e| match &e.event {
        Event::Verdict { step: 3, verdict } if verdict.check == "removed" => Some(verdict),
        _ => None,
    });
    assert_eq!(tari_off.unwrap().observed, serde_json::json!(["tari"]));
}

#[test]
fn readiness_polling_ends_at_the_timeout_and_the_walk_goes_on() {
    let model = pithead();
    let steps = flips(&model);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let mut target = ScriptedTarget::new(model.clone());
    target.ready_delay = Duration::from_secs(100_000);
    let options = RunOptions {
        readiness: ReadinessPolicy {
            timeout: Duration::from_secs(120),
            first_poll: Duration::from_secs(1),
            max_poll: Duration::from_secs(15),
        },
        ..RunOptions::default()
    };
    let out = run_journaled(&mut target, &steps, &options, &path).unwrap();
    assert_eq!(
        out.steps_run,
        steps.len(),
        "continue-on-error runs every step"
    );
    assert_eq!(out.steps_failed, steps.len());
    assert!(out.failures.iter().any(|f| f.verdict.check == "ready"));
    assert!(
        out.ready_seconds.iter().all(|s| *s == 120.0),
        "{:?}",
        out.ready_seconds
    );
    // Backoff 1, 2, 4, 8, 15, 15 ... s: a handful of polls, not one a second.
    let polls: Vec<u32> = read_journal(&path)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            Event::Ready { polls, reached, .. } => {
                assert!(!reached);
                Some(polls)
            }
            _ => None,
        })
        .collect();
    assert!(polls.iter().all(|p| (8..=14).contains(p)), "{polls:?}");
}

#[test]
fn a_clock_that_never_moves_still_times_out() {
    let model = pithead();
    let steps = flips(&model);
    let mut target = ScriptedTarget::new(model.clone());
    target.ready_delay = Duration::from_secs(10);
    target.clock_moves = false;
    let options = RunOptions {
        max_steps: Some(1),
        ..RunOptions::default()
    };
    let out = checked(&mut target, &model, &steps, &options);
    assert_eq!(out.steps_run, 1);
    assert!(out.failures.iter().any(|f| f.verdict.check == "ready"));
    assert!(target.observes < 100, "{} observes", target.observes);
}

#[test]
fn fail_fast_stops_after_the_first_failing_step() {
    let model = pithead();
    let steps = flips(&model);
    // Applies 1 and 2 are step 0 and its second apply; apply 3 is step 1's.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let mut target = ScriptedTarget::new(model.clone());
    target.refuse_applies.insert(3);
    let options = RunOptions {
        fail_fast: true,
        ..RunOptions::default()
    };
    let out = run_journaled(&mut target, &steps, &options, &path).unwrap();
    assert_eq!(out.steps_run, 2);
    assert_eq!(out.exit_code(), 1);
    assert_eq!(out.first_failure().unwrap().step, 1);
    assert_eq!(out.first_failure().unwrap().verdict.check, "apply_exit");
    assert!(out.stopped.as_deref().unwrap().contains("--fail-fast"));
    let names = event_names(&path);
    assert!(names.contains(&"stopped".to_string()));
    assert_eq!(names.iter().filter(|n| *n == "step_start").count(), 2);

    // Without --fail-fast the same box runs the whole walk; the refused step is reported
    // without a readiness wait and without an idempotency verdict.
    let mut target = ScriptedTarget::new(model.clone());
    target.refuse_applies.insert(3);
    let path2 = dir.path().join("journal2.jsonl");
    let out = run_journaled(&mut target, &steps, &RunOptions::default(), &path2).unwrap();
    assert_eq!(out.steps_run, steps.len());
    let checks_of_step_1: Vec<String> = read_journal(&path2)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            Event::Verdict { step: 1, verdict } => Some(verdict.check),
            _ => None,
        })
        .collect();
    assert!(checks_of_step_1.contains(&"apply_exit".to_string()));
    assert!(!checks_of_step_1.contains(&"idempotent".to_string()));
}

#[test]
fn max_steps_limits_the_walk_and_says_so() {
    let model = pithead();
    let steps = flips(&model);
    let mut target = ScriptedTarget::new(model.clone());
    let options = RunOptions {
        max_steps: Some(2),
        ..RunOptions::default()
    };
    let out = checked(&mut target, &model, &steps, &options);
    assert_eq!(out.steps_run, 2);
    assert!(out.stopped.unwrap().contains("--max-steps 2"));
}

#[test]
fn a_rotated_secret_fails_its_check_from_then_on() {
    let model = pithead();
    let steps = flips(&model);
    let mut target = ScriptedTarget::new(model.clone());
    target.rotate_at_apply = Some(5);
    let out = checked(&mut target, &model, &steps, &RunOptions::default());
    let steps_failing: Vec<usize> = out
        .failures
        .iter()
        .filter(|f| f.verdict.check == "secret_fingerprint")
        .map(|f| f.step)
        .collect();
    assert_eq!(steps_failing, [2, 3, 4, 5]);
    assert_eq!(out.verdicts_failed, 4);
}

#[test]
fn a_lost_connection_ends_the_run_with_a_journaled_target_error() {
    let model = pithead();
    let steps = flips(&model);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let mut target = ScriptedTarget::new(model.clone());
    target.lose_connection_at_apply = Some(5);
    let err = run_journaled(&mut target, &steps, &RunOptions::default(), &path).unwrap_err();
    assert!(
        matches!(err, RunError::Target { step: Some(2), .. }),
        "{err}"
    );
    assert!(err.to_string().contains("connection reset"), "{err}");
    let entries = read_journal(&path).unwrap();
    let n = entries.len();
    assert!(matches!(
        &entries[n - 2].event,
        Event::TargetFailed { step: Some(2), .. }
    ));
    assert!(matches!(
        entries[n - 1].event,
        Event::RunEnd { exit_code: 2, .. }
    ));
}

/// Reads the journal back from disk after every step: each event must already be there.
struct Flushed {
    journal: JournalWriter,
    path: std::path::PathBuf,
    checked: usize,
}

impl Sink for Flushed {
    fn journaling(&self) -> bool {
        true
    }
    fn event(&mut self, event: Event) -> std::io::Result<()> {
        self.journal.write(event)
    }
    fn step_done(&mut self, report: &StepReport<'_>) {
        let entries = read_journal(&self.path).unwrap();
        assert!(
            matches!(entries.last().unwrap().event, Event::StepEnd { step, .. } if step == report.index),
            "step {} not on disk yet",
            report.index
        );
        self.checked += 1;
    }
}

#[test]
fn the_journal_is_on_disk_after_every_event() {
    let model = pithead();
    let steps = flips(&model);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let mut sink = Flushed {
        journal: JournalWriter::create(&path).unwrap(),
        path: path.clone(),
        checked: 0,
    };
    let mut target = ScriptedTarget::new(model.clone());
    rt().block_on(async {
        let baseline = snapshot(&mut target).await.unwrap();
        run_walk(
            &mut target,
            &model,
            &Supplied::default(),
            &baseline,
            &steps,
            &RunOptions::default(),
            &mut sink,
        )
        .await
        .unwrap()
    });
    assert_eq!(sink.checked, steps.len());
}

#[test]
fn the_same_walk_on_the_same_box_gives_the_same_journal() {
    let model = pithead();
    let steps = flips(&model);
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    for path in [&a, &b] {
        let mut target = ScriptedTarget::new(model.clone());
        target.refuse_applies.insert(4);
        run_journaled(&mut target, &steps, &RunOptions::default(), path).unwrap();
    }
    let (ja, jb) = (without_wall_clock(&a), without_wall_clock(&b));
    assert!(ja.len() > steps.len() * 20);
    assert_eq!(ja, jb);
}
