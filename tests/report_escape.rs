//! Hostile values (markup, quotes, ampersands, control characters) in config values, check
//! names, messages, reasons and run ids: every format must stay well-formed and show them as
//! text, never as markup.

#[path = "fixtures/walk.rs"]
mod walk;

use std::collections::HashMap;

use serde_json::json;

use walk::{CHECK, MESSAGE, REASON, RUN_ID, VALUE, hostile};

fn derive() -> (tempfile::TempDir, canary::report::ReportFiles) {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    walk::write_run(&run, &hostile());
    let files = canary::report::write_reports(&run).unwrap();
    (dir, files)
}

/// What a hostile text becomes in XML: characters XML 1.0 cannot hold are replaced.
fn xml_form(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (c as u32) < 0x20 && !"\t\n\r".contains(c) {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn junit_stays_well_formed_and_carries_the_values_as_text() {
    let (_dir, files) = derive();
    let xml = std::fs::read_to_string(&files.junit_xml).unwrap();
    assert!(!xml.contains("<evil"));
    assert!(!xml.contains("<script"));
    assert!(!xml.contains('\u{1b}'));
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut attrs_seen: Vec<HashMap<String, String>> = Vec::new();
    let mut elements = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                elements.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                attrs_seen.push(
                    e.attributes()
                        .map(|a| {
                            let a = a.expect("well-formed attribute");
                            (
                                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                                a.unescape_value().unwrap().into_owned(),
                            )
                        })
                        .collect(),
                );
            }
            _ => {}
        }
    }
    let known = [
        "testsuites",
        "testsuite",
        "properties",
        "property",
        "testcase",
        "failure",
        "skipped",
    ];
    assert!(
        elements.iter().all(|e| known.contains(&e.as_str())),
        "{elements:?}"
    );
    let failure = attrs_seen
        .iter()
        .find(|a| a.get("type").map(String::as_str) == Some("verdict"))
        .expect("a failure");
    assert_eq!(
        failure["message"],
        xml_form(&format!(
            "{MESSAGE}: observed {}, expected </pre><script>x</script>",
            json!({"type": VALUE})
        ))
    );
    let case = attrs_seen
        .iter()
        .find(|a| a.get("name").map(String::as_str) == Some(CHECK))
        .expect("the hostile check as a test case name");
    assert_eq!(
        case["classname"],
        format!("step 1: p2pool.pool=nano, tari.mode=off")
    );
    assert!(
        attrs_seen
            .iter()
            .any(|a| a.get("classname").map(String::as_str)
                == Some(&format!(
                    "step 0: dashboard.secure=false, p2pool.pool={VALUE}"
                )))
    );
    assert!(
        attrs_seen
            .iter()
            .any(|a| a.get("name").map(String::as_str) == Some(&format!("canary {RUN_ID}")))
    );
    assert!(
        attrs_seen
            .iter()
            .any(|a| a.get("message").map(String::as_str) == Some(REASON))
    );
}

#[test]
fn html_shows_hostile_values_as_text_only() {
    let (_dir, files) = derive();
    let html = std::fs::read_to_string(&files.report_html).unwrap();
    for markup in ["<script", "<evil", "<img", "<svg onload", "<b>pool"] {
        assert!(!html.contains(markup), "unescaped {markup}");
    }
    assert!(!html.contains('\u{1b}') && !html.contains('\u{0}'));
    assert!(html.contains("mini&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"));
    assert!(html.contains("data-check=\"api.&lt;b&gt;pool&lt;/b&gt;&amp;&quot;type&quot;\""));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("echo &lt;done&gt;"));
}

#[test]
fn csv_and_json_keep_the_values_exactly() {
    let (_dir, files) = derive();
    let mut r = csv::Reader::from_path(&files.steps_csv).unwrap();
    let column = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "changed")
        .unwrap();
    let changed: Vec<String> = r
        .records()
        .map(|rec| rec.unwrap().get(column).unwrap().to_string())
        .collect();
    assert_eq!(
        changed[0],
        format!("dashboard.secure=false; p2pool.pool={VALUE}")
    );
    let mut r = csv::Reader::from_path(&files.coverage_csv).unwrap();
    let goals: Vec<String> = r
        .records()
        .map(|rec| rec.unwrap().get(1).unwrap().to_string())
        .collect();
    assert!(goals.contains(&format!("p2pool.pool: main -> {VALUE}")));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files.summary_json).unwrap()).unwrap();
    assert_eq!(s["failures"][0]["check"], CHECK);
    assert_eq!(s["failures"][0]["message"], MESSAGE);
    assert_eq!(s["failures"][0]["observed"]["type"], VALUE);
    assert_eq!(s["run_id"], RUN_ID);
}
