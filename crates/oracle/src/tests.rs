use super::*;
use canary_model::{BUILTIN_PITHEAD, Config, load_str};
use std::collections::BTreeMap;
use std::path::Path;

fn pithead() -> (Model, Supplied) {
    let m = load_str(BUILTIN_PITHEAD, Path::new("pithead.toml")).unwrap();
    (m, Supplied::default())
}

/// `lookup` walks the dotted path key by key, empty keys included, as `split('.')` does.
#[test]
fn lookup_follows_dotted_paths() {
    let doc = json!({"a": {"b": 1, "": {"c": 2}}, "": 3, "x.y": 4});
    let by_split = |path: &str| {
        path.split('.').try_fold(&doc, |v, key| {
            v.as_object()?
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v)
        })
    };
    for path in [
        "a.b", "a", "", "a..c", "a.", "a.b.c", "x.y", "x", "q", ".", "a.b.",
    ] {
        assert_eq!(lookup(&doc, path), by_split(path), "{path:?}");
    }
    assert_eq!(lookup(&doc, "a..c"), Some(&json!(2)));
    assert_eq!(lookup(&json!([1]), "a"), None);
}

/// A failure's reason is usually Compose's last line, after its progress lines.
#[test]
fn gist_keeps_the_first_and_the_last_line() {
    assert_eq!(gist(""), "");
    assert_eq!(gist("\n  one  \n\n"), "one");
    let compose = "error: down failed: Container x-tari-1  Stopping\n Container x-tari-1  \
                   Stopping\nError response from daemon: tried to kill container\n";
    assert_eq!(
        gist(compose),
        "error: down failed: Container x-tari-1  Stopping … Error response from daemon: tried to kill container"
    );
}

fn step(m: &Model, s: &Supplied, prev: &Config, pairs: &[(&str, &str)]) -> Step {
    let config = m
        .config_from_labels(&m.default_config(), pairs.iter().copied())
        .unwrap();
    let effective = m.effective(&config);
    let prediction = m.predict(&m.effective(prev), &effective, s);
    let changed = (0..m.axes.len())
        .filter(|&i| m.effective(prev).0[i] != effective.0[i])
        .collect();
    Step {
        config,
        effective,
        changed,
        prediction,
        new_tuples: 0,
        new_transitions: 0,
        op: None,
    }
}

fn set_path(doc: &mut Value, path: &str, v: Value) {
    let mut cur = doc;
    let parts: Vec<&str> = path.split('.').collect();
    for k in &parts[..parts.len() - 1] {
        cur = cur
            .as_object_mut()
            .unwrap()
            .entry(k.to_string())
            .or_insert_with(|| json!({}));
    }
    cur.as_object_mut()
        .unwrap()
        .insert(parts[parts.len() - 1].to_string(), v);
}

/// The box exactly as the model wants it; ids `<name>-<generation>`.
fn good(e: &Expected, generation: &BTreeMap<&str, (u32, u32)>) -> Observation {
    let mut api = json!({});
    for a in &e.api {
        set_path(&mut api, &a.path, a.value.clone());
    }
    Observation {
        status_exit: 0,
        containers: e
            .running
            .iter()
            .map(|n| {
                let (id, start) = generation.get(n.as_str()).copied().unwrap_or((0, 0));
                ContainerState {
                    name: n.clone(),
                    id: format!("{n}-{id}"),
                    started: format!("t{start}"),
                    state: "running".into(),
                    health: None,
                }
            })
            .collect(),
        env: std::sync::Arc::new(
            e.env
                .iter()
                .map(|x| (x.key.clone(), x.value.clone()))
                .collect(),
        ),
        api: std::sync::Arc::new(api),
        secret_fingerprint: "fp".into(),
    }
}

fn ok() -> CommandResult {
    CommandResult {
        exit_code: 0,
        output: "Configuration applied.".into(),
    }
}

fn noop() -> CommandResult {
    CommandResult {
        exit_code: 0,
        output: format!("{NO_CHANGES}. Nothing to apply."),
    }
}

const READY: Readiness = Readiness {
    reached: true,
    ended: WaitEnd::Ready,
    seconds: 3.0,
    timeout: 600.0,
    polled: true,
};

/// A pool flip main: p2pool recreated, nothing else touched.
struct Case {
    expected: Expected,
    prediction: Prediction,
    before: Observation,
    after: Observation,
}

fn pool_flip() -> Case {
    let (m, s) = pithead();
    let base = m.default_config();
    let st = step(&m, &s, &base, &[("p2pool.pool", "main")]);
    assert_eq!(st.prediction.recreated, ["p2pool"]);
    let before_exp = Expected::new(&m, &s, &base);
    let before = good(&before_exp, &BTreeMap::new());
    let expected = Expected::new(&m, &s, &st.effective);
    let after = good(&expected, &BTreeMap::from([("p2pool", (1, 1))]));
    Case {
        expected,
        prediction: st.prediction,
        before,
        after,
    }
}

fn judge_case(
    c: &Case,
    apply: &CommandResult,
    second: &CommandResult,
    again: &Observation,
) -> Vec<Verdict> {
    let mut v = Verdicts::new(true);
    judge(
        &c.expected,
        &c.prediction,
        &StepFacts {
            apply,
            ready: READY,
            before: &c.before,
            after: &c.after,
            second_apply: Some(second),
            after_second: Some(again),
            baseline_fingerprint: "fp",
            operation: None,
            cold_refusal: None,
        },
        &mut v,
    );
    v.list
}

fn failed(v: &[Verdict]) -> Vec<&str> {
    v.iter()
        .filter(|v| !v.passed)
        .map(|v| v.check.as_str())
        .collect()
}

#[test]
fn a_box_as_the_model_wants_passes_every_check() {
    let c = pool_flip();
    let v = judge_case(&c, &ok(), &noop(), &c.after.clone());
    assert_eq!(failed(&v), Vec::<&str>::new());
    let names: Vec<&str> = v.iter().map(|v| v.check.as_str()).collect();
    for check in [
        "apply_exit",
        "ready",
        "status_exit",
        "containers.running",
        "containers.absent",
        "env.COMPOSE_PROFILES",
        "env.P2POOL_PORT",
        "api.pool.type",
        "created",
        "removed",
        "recreated",
        "restarted",
        "idempotent",
        "secret_fingerprint",
    ] {
        assert!(names.contains(&check), "no {check} verdict in {names:?}");
    }
}

#[test]
fn each_check_fails_on_its_own_breakage() {
    type Break = fn(&mut Case, &mut CommandResult, &mut CommandResult, &mut Observation);
    let cases: Vec<(&str, Break)> = vec![
        ("apply_exit", |_, a, _, _| a.exit_code = 1),
        ("status_exit", |c, _, _, _| c.after.status_exit = 1),
        ("containers.running", |c, _, _, _| {
            c.after
                .containers
                .iter_mut()
                .find(|x| x.name == "monerod")
                .unwrap()
                .state = "exited".into()
        }),
        ("containers.absent", |c, _, _, _| {
            // tari off must leave no tari; a running tari-wallet is not tari (#1478).
            c.expected.running.retain(|n| n != "tari");
            c.expected.absent.push("tari".into());
            c.before.containers.retain(|x| x.name != "tari");
            c.after.containers.retain(|x| x.name != "tari");
            let mut stray = c.after.containers[0].clone();
            stray.name = "tari".into();
            c.after.containers.push(stray.clone());
            c.before.containers.push(stray);
        }),
        ("env.P2POOL_PORT", |c, _, _, _| {
            std::sync::Arc::make_mut(&mut c.after.env).insert("P2POOL_PORT".into(), "37888".into());
        }),
        ("env.COMPOSE_PROFILES", |c, _, _, _| {
            std::sync::Arc::make_mut(&mut c.after.env)
                .insert("COMPOSE_PROFILES".into(), "local_node".into());
        }),
        ("api.pool.type", |c, _, _, _| {
            std::sync::Arc::make_mut(&mut c.after.api)["pool"]["type"] = json!("Mini")
        }),
        ("recreated", |c, _, _, _| {
            // p2pool kept its id: the pool flip was never applied to it.
            c.after
                .containers
                .iter_mut()
                .find(|x| x.name == "p2pool")
                .unwrap()
                .id = "p2pool-0".into()
        }),
        ("restarted", |c, _, _, _| {
            c.after
                .containers
                .iter_mut()
                .find(|x| x.name == "caddy")
                .unwrap()
                .started = "t9".into()
        }),
        ("created", |c, _, _, _| {
            c.before.containers.retain(|x| x.name != "dashboard");
        }),
        ("removed", |c, _, _, _| {
            let mut gone = c.before.containers[0].clone();
            gone.name = "wallet-rpc".into();
            c.before.containers.push(gone);
        }),
        ("idempotent", |_, _, s, _| {
            s.output = "Configuration applied.".into()
        }),
        ("idempotent", |_, _, _, again| {
            again
                .containers
                .iter_mut()
                .find(|x| x.name == "dashboard")
                .unwrap()
                .id = "dashboard-7".into()
        }),
        ("secret_fingerprint", |_, _, _, again| {
            again.secret_fingerprint = "other".into()
        }),
    ];
    for (check, brk) in cases {
        let mut c = pool_flip();
        let (mut a, mut s) = (ok(), noop());
        let mut again = c.after.clone();
        brk(&mut c, &mut a, &mut s, &mut again);
        if check != "idempotent" && check != "secret_fingerprint" {
            again = c.after.clone();
        }
        let v = judge_case(&c, &a, &s, &again);
        let f = failed(&v);
        assert!(f.contains(&check), "breaking {check} failed {f:?}");
        let broken = v.iter().find(|v| v.check == check && !v.passed).unwrap();
        assert!(!broken.message.is_empty(), "{check} has no message");
        assert_ne!(broken.observed, broken.expected, "{check}");
    }
}

#[test]
fn profiles_are_compared_by_membership_not_by_string() {
    let mut c = pool_flip();
    let e = c
        .expected
        .env
        .iter()
        .find(|e| e.key == "COMPOSE_PROFILES")
        .unwrap();
    assert!(e.membership);
    assert_eq!(e.value, "local_node,local_tari");
    // Reordered, padded and with a profile the model does not know: still the same set.
    std::sync::Arc::make_mut(&mut c.after.env).insert(
        "COMPOSE_PROFILES".into(),
        "local_tari, local_miner,local_node".into(),
    );
    let again = c.after.clone();
    let v = judge_case(&c, &ok(), &noop(), &again);
    assert_eq!(failed(&v), Vec::<&str>::new());
    // `local_node_extra` is not `local_node`.
    std::sync::Arc::make_mut(&mut c.after.env).insert(
        "COMPOSE_PROFILES".into(),
        "local_node_extra,local_tari".into(),
    );
    let again = c.after.clone();
    assert_eq!(
        failed(&judge_case(&c, &ok(), &noop(), &again)),
        ["env.COMPOSE_PROFILES"]
    );
}

#[test]
fn the_state_checks_name_each_difference() {
    // What `run --check` reports: an empty box fails every container, posture key and
    // API field by name, and nothing about applies or ids.
    let (m, s) = pithead();
    let e = Expected::new(&m, &s, &m.effective(&m.default_config()));
    let obs = Observation {
        status_exit: 0,
        containers: vec![],
        env: Default::default(),
        api: Arc::new(json!({})),
        secret_fingerprint: String::new(),
    };
    let mut v = Verdicts::new(false);
    judge_state(&e, &obs, &mut v);
    let failed: Vec<&str> = v.failures().map(|v| v.check.as_str()).collect();
    assert!(failed.contains(&"containers.running"), "{failed:?}");
    assert!(!failed.contains(&"status_exit"), "{failed:?}");
    for x in &e.env {
        assert!(failed.contains(&x.check.as_str()), "{failed:?}");
    }
    for a in &e.api {
        assert!(failed.contains(&a.check.as_str()), "{failed:?}");
    }
    assert!(
        failed
            .iter()
            .all(|c| !matches!(*c, "recreated" | "apply_exit"))
    );
}

#[test]
fn readiness_needs_status_containers_and_api() {
    let c = pool_flip();
    assert!(is_ready(&c.expected, &c.after));
    assert!(waiting_on(&c.expected, &c.after).is_empty());
    let mut o = c.after.clone();
    std::sync::Arc::make_mut(&mut o.api)["pool"]["type"] = json!("Mini");
    assert!(!is_ready(&c.expected, &o));
    assert_eq!(waiting_on(&c.expected, &o), ["api.pool.type"]);
    let mut o = c.after.clone();
    o.containers.retain(|x| x.name != "p2pool");
    o.status_exit = 1;
    assert_eq!(
        waiting_on(&c.expected, &o),
        ["status_exit=1", "container p2pool"]
    );
}

#[test]
fn a_failed_apply_is_a_verdict_and_skips_idempotency() {
    let c = pool_flip();
    let refused = CommandResult {
        exit_code: 1,
        output: "error: tari.mode must be local or remote".into(),
    };
    let again = c.after.clone();
    let v = judge_case(&c, &refused, &ok(), &again);
    assert_eq!(failed(&v), ["apply_exit"]);
    assert!(!v.iter().any(|v| v.check == "idempotent"));
    let apply = v.iter().find(|v| v.check == "apply_exit").unwrap();
    assert!(
        apply.message.contains("must be local or remote"),
        "{}",
        apply.message
    );
}

#[test]
fn the_fast_collector_counts_passes_without_keeping_them() {
    let c = pool_flip();
    let mut again = c.after.clone();
    again.secret_fingerprint = "rotated".into();
    let mut v = Verdicts::new(false);
    judge(
        &c.expected,
        &c.prediction,
        &StepFacts {
            apply: &ok(),
            ready: READY,
            before: &c.before,
            after: &c.after,
            second_apply: Some(&noop()),
            after_second: Some(&again),
            baseline_fingerprint: "fp",
            operation: None,
            cold_refusal: None,
        },
        &mut v,
    );
    assert_eq!(v.failed, 1);
    assert!(v.passed > 10);
    assert_eq!(v.list.len(), 1);
    assert_eq!(v.list[0].check, "secret_fingerprint");
}

#[test]
fn touched_tells_restarts_from_recreates() {
    let c = pool_flip();
    let mut after = c.before.clone();
    after
        .containers
        .iter_mut()
        .find(|x| x.name == "monerod")
        .unwrap()
        .started = "t5".into();
    after
        .containers
        .iter_mut()
        .find(|x| x.name == "tor")
        .unwrap()
        .id = "tor-9".into();
    after.containers.retain(|x| x.name != "tari");
    let t = Touched::between(&c.before, &after);
    assert_eq!(t.restarted, ["monerod"]);
    assert_eq!(t.recreated, ["tor"]);
    assert_eq!(t.removed, ["tari"]);
    assert!(t.created.is_empty());
}
