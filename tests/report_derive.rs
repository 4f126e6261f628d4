//! One run's journal in, every report out, each parsed back and checked against the walk the
//! fixture wrote.

#[path = "fixtures/walk.rs"]
mod walk;

use std::collections::{BTreeSet, HashMap};

use canary::report::write_reports;
use quick_xml::events::Event as Xml;

fn derive() -> (tempfile::TempDir, canary::report::ReportFiles) {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run-a");
    walk::write_run(&run, &walk::shard_a());
    let files = write_reports(&run).unwrap();
    (dir, files)
}

fn csv_rows(path: &std::path::Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn steps_csv_has_one_row_per_step_with_changes_containers_and_verdicts() {
    let (_dir, files) = derive();
    let rows = csv_rows(&files.steps_csv);
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r["run"] == "run-a"));
    assert_eq!(
        rows.iter().map(|r| r["step"].as_str()).collect::<Vec<_>>(),
        ["0", "1", "2", "3"]
    );
    // Changed values are the diff against the previous effective config (baseline first).
    assert_eq!(
        rows[0]["changed"],
        "dashboard.secure=false; p2pool.pool=mini"
    );
    assert_eq!(rows[1]["changed"], "p2pool.pool=nano; tari.mode=off");
    // Step 0 has no earlier observation: the prediction stands in, and says so.
    assert_eq!(rows[0]["containers_from"], "predicted");
    assert_eq!(rows[0]["recreated"], "p2pool");
    // Later steps: diffs of two observations.
    assert_eq!(rows[1]["containers_from"], "observed");
    assert_eq!(rows[1]["recreated"], "p2pool");
    assert_eq!(rows[1]["removed"], "tari");
    assert_eq!(rows[2]["restarted"], "monerod");
    assert_eq!(rows[3]["created"], "tari");
    assert_eq!(rows[1]["time_to_ready_s"], "40.500");
    assert_eq!(rows[1]["apply_exit"], "0");
    assert_eq!(rows[1]["second_apply_exit"], "0");
    assert_eq!(rows[1]["status"], "failed");
    assert_eq!(rows[1]["verdicts_passed"], "2");
    assert_eq!(rows[1]["verdicts_failed"], "1");
    assert_eq!(rows[1]["failed_checks"], "api.pool.type");
    for i in [0, 2, 3] {
        assert_eq!(rows[i]["status"], "passed");
        assert_eq!(rows[i]["verdicts_failed"], "0");
        assert_eq!(rows[i]["failed_checks"], "");
    }
}

/// An independent count of the pairs and transitions the fixture walk holds.
fn expected_coverage(spec: &walk::RunSpec) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut pairs = BTreeSet::new();
    let mut trans = BTreeSet::new();
    let mut prev = walk::baseline();
    for s in &spec.steps {
        let e: Vec<(&String, &String)> = s.effective.iter().collect();
        for i in 0..e.len() {
            for j in i + 1..e.len() {
                pairs.insert(format!("{}={}, {}={}", e[i].0, e[i].1, e[j].0, e[j].1));
            }
        }
        for (a, v) in &s.effective {
            if prev[a] != *v {
                trans.insert(format!("{a}: {} -> {v}", prev[a]));
            }
        }
        prev = s.effective.clone();
    }
    (pairs, trans)
}

#[test]
fn coverage_csv_lists_every_pair_and_transition_with_the_covering_step() {
    let (_dir, files) = derive();
    let rows = csv_rows(&files.coverage_csv);
    let tuples: Vec<_> = rows.iter().filter(|r| r["kind"] == "tuple").collect();
    let trans: Vec<_> = rows.iter().filter(|r| r["kind"] == "transition").collect();
    // Goals computed from the planned axes: all value pairs, all ordered changes.
    assert_eq!(tuples.len(), 16);
    assert_eq!(trans.len(), 10);
    let (want_pairs, want_trans) = expected_coverage(&walk::shard_a());
    let got_pairs: BTreeSet<String> = tuples
        .iter()
        .filter(|r| r["covered"] == "true")
        .map(|r| r["goal"].clone())
        .collect();
    let got_trans: BTreeSet<String> = trans
        .iter()
        .filter(|r| r["covered"] == "true")
        .map(|r| r["goal"].clone())
        .collect();
    assert_eq!(got_pairs, want_pairs);
    assert_eq!(got_trans, want_trans);
    assert_eq!(got_pairs.len(), 11);
    assert_eq!(got_trans.len(), 7);
    let find = |goal: &str| rows.iter().find(|r| r["goal"] == goal).unwrap();
    let r = find("p2pool.pool=nano, tari.mode=off");
    assert_eq!((r["covered"].as_str(), r["step"].as_str()), ("true", "1"));
    assert_eq!(r["run"], "run-a");
    // main/local is held by the baseline only at the last step (the first step leaves it).
    assert_eq!(find("p2pool.pool=main, tari.mode=local")["step"], "3");
    let r = find("p2pool.pool: main -> nano");
    assert_eq!((r["covered"].as_str(), r["step"].as_str()), ("false", ""));
    assert_eq!(find("tari.mode: off -> local")["step"], "3");
}

#[derive(Debug, Default)]
struct Case {
    classname: String,
    name: String,
    failure: Option<(String, String)>,
    skipped: Option<String>,
}

fn junit_cases(xml: &str) -> (Vec<Case>, Vec<(String, String)>, usize) {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut cases = Vec::new();
    let mut props = Vec::new();
    let mut suites = 0;
    let mut in_failure = false;
    loop {
        let ev = reader.read_event().expect("junit.xml is well-formed");
        let is_start = matches!(ev, Xml::Start(_));
        match ev {
            Xml::Eof => break,
            Xml::Start(e) | Xml::Empty(e) => {
                let attrs: HashMap<String, String> = e
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap();
                        (
                            String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                            a.unescape_value().unwrap().into_owned(),
                        )
                    })
                    .collect();
                match e.name().as_ref() {
                    b"testsuite" => suites += 1,
                    b"testcase" => cases.push(Case {
                        classname: attrs["classname"].clone(),
                        name: attrs["name"].clone(),
                        ..Case::default()
                    }),
                    b"failure" => {
                        cases.last_mut().unwrap().failure =
                            Some((attrs["message"].clone(), String::new()));
                        in_failure = is_start;
                    }
                    b"skipped" => {
                        cases.last_mut().unwrap().skipped = Some(attrs["message"].clone())
                    }
                    b"property" => props.push((attrs["name"].clone(), attrs["value"].clone())),
                    _ => {}
                }
            }
            Xml::Text(t) if in_failure => {
                let f = cases.last_mut().unwrap().failure.as_mut().unwrap();
                f.1.push_str(&t.unescape().unwrap());
            }
            Xml::End(e) if e.name().as_ref() == b"failure" => in_failure = false,
            _ => {}
        }
    }
    (cases, props, suites)
}

#[test]
fn junit_has_a_case_per_step_and_check_and_the_failure_with_observed_expected_and_replay() {
    let (_dir, files) = derive();
    let xml = std::fs::read_to_string(&files.junit_xml).unwrap();
    let (cases, props, suites) = junit_cases(&xml);
    assert_eq!(suites, 1);
    // 4 steps × 3 checks + 1 skipped value.
    assert_eq!(cases.len(), 13);
    let failed: Vec<&Case> = cases.iter().filter(|c| c.failure.is_some()).collect();
    assert_eq!(failed.len(), 1);
    let f = failed[0];
    assert_eq!(f.classname, "step 1: p2pool.pool=nano, tari.mode=off");
    assert_eq!(f.name, "api.pool.type");
    let (message, body) = f.failure.as_ref().unwrap();
    assert_eq!(
        message,
        "pool type lags the sidechain switch: observed mini, expected nano"
    );
    let replay = walk::shard_a().replay;
    assert!(body.contains(&format!("replay: {replay}")), "{body}");
    assert!(body.contains("observed: \"mini\""), "{body}");
    let skipped: Vec<&Case> = cases.iter().filter(|c| c.skipped.is_some()).collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].name, "monero.mode=remote");
    assert!(
        skipped[0]
            .skipped
            .as_ref()
            .unwrap()
            .contains("remote_monero_host")
    );
    assert!(props.contains(&("replay".to_string(), replay)));
    assert!(props.contains(&("model_hash".to_string(), walk::MODEL_HASH.to_string())));
    // Counts in the suite header agree with the cases.
    assert!(xml.contains("tests=\"13\" failures=\"1\""), "{xml}");
}

#[test]
fn summary_json_has_the_manifest_counts_coverage_and_failures_with_replay() {
    let (_dir, files) = derive();
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files.summary_json).unwrap()).unwrap();
    let spec = walk::shard_a();
    assert_eq!(s["seed"], "a".repeat(64));
    assert_eq!(s["model"], "pithead-mini");
    assert_eq!(s["model_hash"], walk::MODEL_HASH);
    assert_eq!(s["target"], "sim");
    assert_eq!(s["run_id"], "run-a");
    assert_eq!(s["counts"]["steps"], 4);
    assert_eq!(s["counts"]["steps_failed"], 1);
    assert_eq!(s["counts"]["verdicts_passed"], 11);
    assert_eq!(s["counts"]["verdicts_failed"], 1);
    assert_eq!(s["counts"]["skipped"], 1);
    assert_eq!(s["coverage"]["tuples"]["required"], 16);
    assert_eq!(s["coverage"]["tuples"]["covered"], 11);
    assert_eq!(s["coverage"]["tuples"]["goals_from"], "computed");
    assert_eq!(s["coverage"]["transitions"]["covered"], 7);
    assert_eq!(s["coverage"]["transitions"]["ratio"], 0.7);
    assert_eq!(s["passed"], false);
    let failures = s["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["check"], "api.pool.type");
    assert_eq!(failures[0]["step"], 1);
    assert_eq!(failures[0]["observed"], "mini");
    assert_eq!(failures[0]["expected"], "nano");
    assert_eq!(failures[0]["replay"], spec.replay);
    assert_eq!(failures[0]["changed"]["tari.mode"], "off");
    assert_eq!(s["runs"][0]["finished"], true);
    assert_eq!(s["runs"][0]["exit_code"], 1);
    assert_eq!(s["skipped"][0]["axis"], "monero.mode");
}

#[test]
fn html_is_self_contained_and_holds_timeline_heatmap_transitions_and_failure() {
    let (_dir, files) = derive();
    let html = std::fs::read_to_string(&files.report_html).unwrap();
    for forbidden in [
        "<script", "http://", "https://", "@import", "url(", "<img", "<link",
    ] {
        assert!(
            !html.contains(forbidden),
            "report.html contains {forbidden}"
        );
    }
    assert_eq!(html.matches("<rect class=\"step ").count(), 4);
    assert_eq!(html.matches("<rect class=\"step failed\"").count(), 1);
    // The failed bar links to its failure.
    assert!(html.contains("<a href=\"#f0-1\"><rect class=\"step failed\" data-step=\"1\""));
    assert!(html.contains("<div id=\"f0-1\">"));
    // 3 axes: 3 pair cells below the diagonal; tari × secure fully covered.
    assert_eq!(html.matches("<td class=\"cell\"").count(), 3);
    assert!(html.contains("data-covered=\"4\" data-required=\"4\""));
    assert!(html.contains("data-covered=\"3\" data-required=\"6\""));
    assert!(html.contains("<span class=\"frac\">3/6</span>"));
    assert!(html.contains(&walk::shard_a().replay));
    assert!(html.contains("pool type lags the sidechain switch"));
    assert!(html.contains(walk::MODEL_HASH));
}

#[test]
fn re_deriving_gives_the_same_files() {
    let (_dir, files) = derive();
    let before: Vec<Vec<u8>> = files
        .all()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let run = files.steps_csv.parent().unwrap();
    for f in files.all() {
        std::fs::remove_file(f).unwrap();
    }
    let again = write_reports(run).unwrap();
    let after: Vec<Vec<u8>> = again
        .all()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(before, after);
}

#[test]
fn html_folds_failures_after_the_first_ten_failing_steps() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = walk::shard_a();
    let failing = spec.steps[1].clone();
    spec.steps = (0..12).map(|_| failing.clone()).collect();
    let run = dir.path().join("run");
    walk::write_run(&run, &spec);
    let files = write_reports(&run).unwrap();
    let html = std::fs::read_to_string(&files.report_html).unwrap();
    let fold = html
        .find("<details><summary>2 more failing steps</summary>")
        .expect("a fold");
    // Ten failing steps before the fold, two inside it, each still reachable by its anchor.
    assert_eq!(
        html[..fold].matches("<article class=\"failure\"").count(),
        10
    );
    assert_eq!(
        html[fold..].matches("<article class=\"failure\"").count(),
        2
    );
    assert!(html[fold..].contains("<div id=\"f0-11\">"));
}
