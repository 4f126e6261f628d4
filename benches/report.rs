//! Deriving every report from a long journal: a 14-axis walk with a full observation and a dozen
//! verdicts per step, as the runner writes them. Set `CANARY_REPORT_BENCH_DIR` to keep the
//! generated run directory (e.g. to measure `canary report`'s peak memory on it).

use std::collections::BTreeMap;
use std::path::Path;

use canary::journal::{Event, JournalWriter, Labels, Predicted, Verdict};
use canary::report::write_reports;
use canary::target::{CommandResult, ContainerState, Observation};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

const AXES: [(&str, &[&str]); 14] = [
    ("monero.mode", &["local", "remote"]),
    ("monero.prune", &["true", "false"]),
    ("monero.rpc_lan_access", &["false", "true"]),
    ("p2pool.pool", &["main", "mini", "nano"]),
    ("xvb.enabled", &["true", "false"]),
    ("dashboard.secure", &["true", "false"]),
    ("dashboard.tari_required", &["true", "false"]),
    ("tari.mode", &["local", "remote", "off"]),
    ("p2pool.stratum_tls", &["false", "true"]),
    ("network.tor_egress_firewall", &["true", "false"]),
    ("monero.clearnet_initial_sync", &["false", "true"]),
    ("tari.clearnet_initial_sync", &["false", "true"]),
    ("network.subnet", &["172.28.0.0/24", "10.84.0.0/24"]),
    ("monero.view_key", &["empty", "set"]),
];
const SERVICES: [&str; 10] = [
    "tor",
    "monerod",
    "wallet-rpc",
    "tari",
    "p2pool",
    "xmrig-proxy",
    "dashboard",
    "docker-proxy",
    "docker-control",
    "caddy",
];
const CHECKS: [&str; 12] = [
    "containers",
    "status_exit",
    "api.sync",
    "api.pool.type",
    "api.pruned",
    "api.workers",
    "env.MONERO_PRUNE",
    "env.SCHEME",
    "recreated",
    "idempotent",
    "secret_fingerprint",
    "ready",
];

fn config(i: usize) -> Labels {
    AXES.iter()
        .enumerate()
        .map(|(k, (a, vs))| {
            let v = (i * (k + 1) + i / (k + 2) + k) % vs.len();
            (a.to_string(), vs[v].to_string())
        })
        .collect()
}

fn write_journal(dir: &Path, steps: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut w = JournalWriter::create(&dir.join("journal.jsonl")).unwrap();
    w.write(Event::Manifest {
        tool_version: "0.1.0".into(),
        run_id: "bench".into(),
        seed: "c".repeat(64),
        model: "pithead".into(),
        model_hash: "d".repeat(64),
        variant: String::new(),
        target: "sim".into(),
        under_test: BTreeMap::new(),
        faults: vec![],
        options: BTreeMap::new(),
        replay: "canary run --seed cc --target sim".into(),
    })
    .unwrap();
    let axes: serde_json::Map<String, serde_json::Value> = AXES
        .iter()
        .map(|(a, vs)| (a.to_string(), json!(vs)))
        .collect();
    let walk: Vec<_> = (0..steps)
        .map(|i| json!({"config": config(i), "cost": 2.0}))
        .collect();
    w.write(Event::Plan {
        plan: json!({"axes": axes, "baseline": config(usize::MAX / 2), "walk": walk,
                     "skipped": [], "coverage": {}}),
    })
    .unwrap();
    for i in 0..steps {
        let cfg = config(i);
        w.write(Event::StepStart {
            step: i,
            config: cfg.clone(),
            effective: cfg.clone(),
            changed: vec!["p2pool.pool".into()],
            predicted: Predicted {
                recreated: vec!["p2pool".into(), "dashboard".into()],
                cost: 3.0,
                ..Predicted::default()
            },
            operation: None,
        })
        .unwrap();
        w.write(Event::Apply {
            step: i,
            result: CommandResult {
                exit_code: 0,
                output: "Applied 3 changes".into(),
            },
            seconds: 4.0,
        })
        .unwrap();
        w.write(Event::Ready {
            step: i,
            reached: true,
            ended: canary::oracle::WaitEnd::Ready,
            seconds: (i % 37) as f64,
            polls: 4,
        })
        .unwrap();
        let containers = SERVICES
            .iter()
            .enumerate()
            .map(|(k, s)| ContainerState {
                name: s.to_string(),
                id: format!("{:012x}", (i / (k + 1)) * 7919 + k),
                started: format!("2026-11-25T03:{:02}:{:02}Z", (i / (k + 1)) % 60, k),
                state: "running".into(),
                health: Some("healthy".into()),
            })
            .collect();
        let env = cfg
            .iter()
            .map(|(a, v)| (a.to_uppercase().replace('.', "_"), v.clone()));
        w.write(Event::Observed {
            step: i,
            observation: Observation {
                status_exit: 0,
                containers,
                env: std::sync::Arc::new(env.collect()),
                api: json!({"monero": {"sync": "synced", "height": 3_300_000 + i},
                            "pool": {"type": cfg["p2pool.pool"]}, "proxy_workers": 2,
                            "total_hashes": i * 1000})
                .into(),
                secret_fingerprint: "e".repeat(64),
            },
        })
        .unwrap();
        w.write(Event::SecondApply {
            step: i,
            result: CommandResult {
                exit_code: 0,
                output: "No configuration changes detected".into(),
            },
        })
        .unwrap();
        for c in CHECKS {
            let passed = !(c == "api.pool.type" && i % 97 == 5);
            w.write(Event::Verdict {
                step: i,
                verdict: Verdict {
                    check: c.into(),
                    passed,
                    observed: json!("main"),
                    expected: json!(if passed { "main" } else { "mini" }),
                    message: String::new(),
                },
            })
            .unwrap();
        }
        w.write(Event::StepEnd {
            step: i,
            passed: i % 97 != 5,
            seconds: 9.0,
        })
        .unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let keep = std::env::var_os("CANARY_REPORT_BENCH_DIR");
    let tmp = tempfile::tempdir().unwrap();
    let root = keep.as_deref().map(Path::new).unwrap_or(tmp.path());
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(10));
    for steps in [1_000, 5_000] {
        let dir = root.join(format!("run-{steps}"));
        write_journal(&dir, steps);
        let bytes = std::fs::metadata(dir.join("journal.jsonl")).unwrap().len();
        eprintln!("journal of {steps} steps: {:.1} MB", bytes as f64 / 1e6);
        group.bench_function(format!("write_reports/{steps}_steps"), |b| {
            b.iter(|| write_reports(&dir).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
