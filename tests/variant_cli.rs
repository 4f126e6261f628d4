//! Versions are data (issue #14): `--variant NAME` switches the model's [drift] rules. The plan
//! changes as the variant says, and a regression remembers the variant it was found under and
//! replays under it.

#[path = "cli_support/mod.rs"]
mod cli;

use cli::streams as canary;

fn plan(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["plan", "--seed", "5", "--format", "json"];
    args.extend(extra);
    let (code, out, err) = canary(&args);
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Every config the plan's first walk writes, as config.json key → JSON value.
fn written(plan: &serde_json::Value) -> Vec<serde_json::Map<String, serde_json::Value>> {
    plan["walk"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["config"].as_object().cloned())
        .collect()
}

#[test]
fn without_the_flag_the_plan_is_the_default_variants() {
    let default = plan(&[]);
    let named = plan(&["--variant", "newest"]);
    assert_eq!(default, named);
    assert_eq!(default["variant"], "newest");
}

#[test]
fn a_variant_without_tari_off_plans_no_tari_off() {
    let default = plan(&[]);
    let old = plan(&["--variant", "no-tari-off"]);
    assert_eq!(old["variant"], "no-tari-off");
    assert!(
        written(&default).iter().any(|c| c["tari.mode"] == "off"),
        "the default plan never writes tari.mode=off"
    );
    assert!(
        written(&old).iter().all(|c| c["tari.mode"] != "off"),
        "a config with tari.mode=off was planned"
    );
    // The value is dropped as a constraint: its tuples are infeasible, not silently gone.
    let off_infeasible = |p: &serde_json::Value| {
        p["coverage"]["infeasible"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["tari.mode"] == "off")
            .count()
    };
    assert!(
        off_infeasible(&old) > off_infeasible(&default),
        "{}",
        old["coverage"]
    );
    assert_ne!(default["model_hash"], old["model_hash"]);
}

#[test]
fn a_variant_without_the_firewall_normalisation_plans_clearnet_under_the_firewall() {
    // Newest Pithead forces the clearnet flags false while the firewall is on, so the plan
    // never counts that pair as covered; older render_env renders them as set.
    let clearnet_with_firewall = |p: &serde_json::Value| {
        p["coverage"]["infeasible"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| {
                t["network.tor_egress_firewall"] == "true"
                    && t["monero.clearnet_initial_sync"] == "true"
            })
    };
    let default = plan(&["--strength", "2"]);
    let old = plan(&["--strength", "2", "--variant", "clearnet-rendered"]);
    assert!(clearnet_with_firewall(&default), "{}", default["coverage"]);
    assert!(!clearnet_with_firewall(&old), "{}", old["coverage"]);
    // The default writes the flag to be overridden; the old variant has nothing to override.
    assert!(
        written(&old).iter().any(|c| {
            c["network.tor_egress_firewall"] == true && c["monero.clearnet_initial_sync"] == true
        }),
        "no planned config sets clearnet sync under the firewall"
    );
}

#[test]
fn an_unknown_variant_names_the_known_ones() {
    let (code, out, err) = canary(&["plan", "--variant", "sideways"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("unknown variant 'sideways'"), "{err}");
    assert!(err.contains("newest (default)"), "{err}");
    assert!(err.contains("no-tari-off"), "{err}");
}

#[test]
fn a_regression_found_under_a_variant_replays_under_it() {
    // The simulated stack is the newest Pithead: under `clearnet-rendered` the model expects
    // MONERO_CLEARNET_SYNC=true under the firewall and the sim renders false, a failure the
    // fuzzer finds without any injected fault.
    let dir = tempfile::tempdir().unwrap();
    let regs = dir.path().join("regs");
    let (code, out, err) = canary(&[
        "fuzz",
        "--variant",
        "clearnet-rendered",
        "--seed",
        "3",
        "--cases",
        "40",
        "--steps",
        "8",
        "--no-replay",
        "--regressions",
        regs.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let files: Vec<_> = std::fs::read_dir(&regs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!files.is_empty(), "nothing saved:\n{out}");
    for f in &files {
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        assert_eq!(r["variant"], "clearnet-rendered", "{}", f.display());
    }
    // Replayed without --variant, each still fails: it ran under clearnet-rendered.
    let (_, out, err) = canary(&["replay", regs.to_str().unwrap()]);
    assert_eq!(
        out.matches("still fails the same way").count(),
        files.len(),
        "{out}{err}"
    );
    // The same file without the field (as written before variants) replays under the
    // default, where the sim agrees with the model.
    let old = dir.path().join("old.json");
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    r.as_object_mut().unwrap().remove("variant");
    std::fs::write(&old, serde_json::to_string_pretty(&r).unwrap()).unwrap();
    let (_, out, err) = canary(&["replay", old.to_str().unwrap()]);
    assert!(out.contains("passes"), "{out}{err}");
}
