//! The box session seam on the real fake box (`pithead-fake setup` with a fault switched
//! on): the two-step minimal sequence the sim's fuzzer found for the same fault fails on the
//! box, again after the box is brought back to its baseline, and passes on a box without it.

mod model_support;

#[path = "box_support/mod.rs"]
mod support;

use std::time::Duration;

use canary::faults::Fault;
use canary::fuzz::{self, Found, FuzzOptions};
use canary::model::{Model, Supplied, Transition};
use canary::rng::Seed;
use canary::run::RunOptions;
use canary::run::box_session::BoxSession;
use canary::shrink::{Outcome, Signature};
use canary::target::Target;
use canary::target::box_target::{BoxKind, BoxTarget, BoxTargetOptions};
use model_support::pithead;
use support::FakeBox;

fn minimal(model: &Model) -> (Vec<Transition>, Signature) {
    let options = FuzzOptions {
        seed: Seed::from_u64(7),
        cases: 50,
        steps: 12,
        faults: vec![Fault::StaleCaddyScheme],
        ..FuzzOptions::default()
    };
    let report = fuzz::fuzz(model, &Supplied::default(), &options, &mut |_| {}).unwrap();
    let f = &report.failures[0];
    let Found::Shrunk { report: shrunk, .. } = &f.found else {
        panic!("not shrunk: {:?}", f.found)
    };
    (shrunk.minimal.clone(), f.signature.clone())
}

/// Runs `steps` `times` times on the fake box, each from its baseline; returns the outcomes,
/// the applies spent and whether config.json ended as it started.
async fn on_box(
    fake: &FakeBox,
    model: &Model,
    steps: &[Transition],
    times: usize,
) -> (Vec<Outcome>, usize, bool) {
    let mut o = BoxTargetOptions::new(BoxKind::Local {
        dir: fake.dir().to_str().unwrap().into(),
    });
    o.api_url = format!("http://127.0.0.1:{}/api/state", fake.dashboard_port());
    o.command_timeout = Duration::from_secs(30);
    o.apply_timeout = Duration::from_secs(30);
    let mut t = BoxTarget::open(o).await.unwrap();
    let original = t.read_config().await.unwrap();
    let supplied = Supplied::default();
    let mut options = RunOptions::default();
    options.readiness.timeout = Duration::from_secs(15);
    let mut s = BoxSession::open(&mut t, model, &supplied, model.default_config(), &options)
        .await
        .unwrap();
    let mut outcomes = Vec::new();
    for _ in 0..times {
        outcomes.push(s.run(steps).await.unwrap());
    }
    s.back_to_baseline().await.unwrap();
    let applies = s.applies;
    drop(s);
    let back = t.read_config().await.unwrap() == original;
    (outcomes, applies, back)
}

#[test]
fn the_sims_minimal_sequence_fails_on_the_faulty_fake_box_every_time_and_passes_without_the_fault()
{
    let model = pithead();
    let (steps, signature) = minimal(&model);
    assert_eq!(steps.len(), 2);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let faulty = FakeBox::setup_with_faults(&["stale-caddy-scheme"]);
    let (outcomes, applies, back) = rt.block_on(on_box(&faulty, &model, &steps, 2));
    for o in &outcomes {
        match o {
            Outcome::Fail {
                signature: got,
                failed_at,
                ..
            } => {
                assert_eq!(got, &signature);
                assert_eq!(*failed_at, 1);
            }
            o => panic!("the box passed the minimal sequence: {o:?}"),
        }
    }
    // Two runs of two applies, a restore between them and one after.
    assert_eq!(applies, 6);
    assert!(back, "config.json is the baseline's again");

    let clean = FakeBox::setup();
    let (outcomes, _, back) = rt.block_on(on_box(&clean, &model, &steps, 1));
    assert_eq!(outcomes, vec![Outcome::Pass { applies: 2 }]);
    assert!(back);
}
