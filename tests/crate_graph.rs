//! The invariants ARCHITECTURE.md states about who may know whom, checked on the workspace's
//! manifests: a dependency that breaks one fails here (and the compiler keeps the code from
//! using a crate its manifest does not name).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each workspace crate with the workspace crates it names as dependencies (any kind).
fn workspace_graph() -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let names: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["name"].as_str().unwrap().to_string())
                .filter(|d| names.contains(d))
                .collect();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

#[test]
fn the_crate_graph_is_the_architecture() {
    let graph = workspace_graph();
    let deps = |name: &str| {
        graph
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not a workspace crate: {graph:?}"))
    };
    let only = |name: &str, allowed: &[&str]| {
        let extra: Vec<&String> = deps(name)
            .iter()
            .filter(|d| !allowed.contains(&d.as_str()))
            .collect();
        assert!(
            extra.is_empty(),
            "{name} may depend on {allowed:?} of the workspace, but also names {extra:?}"
        );
    };
    // The contract depends on nothing of canary's: the fakes link it without the tool.
    only("pithead-contract", &[]);
    only("canary-core", &["pithead-contract"]);
    // The model knows nothing of how steps run or are judged.
    only("canary-model", &["pithead-contract", "canary-core"]);
    // The oracle judges from the model alone: never the simulator.
    only("canary-oracle", &["canary-core", "canary-model"]);
    // The simulator is written from the contract: never the model, never the oracle, so the
    // two can disagree.
    only("canary-sim", &["pithead-contract", "canary-core"]);
    // The fakes are Pithead stand-ins: the contract only.
    only("fakes", &["pithead-contract"]);
    // And the tool is built on all of them.
    for part in [
        "canary-core",
        "canary-model",
        "canary-oracle",
        "canary-sim",
        "pithead-contract",
    ] {
        assert!(deps("canary").contains(part), "canary does not use {part}");
    }
}
