//! The HTML report rendered by a real browser: headless Chromium (Debian's `chromium`) loads
//! the page from disk and the rendered DOM must hold the timeline, the heatmap and the failure.
//! Without Chromium this test fails, saying how to install it: a report nobody has seen render
//! is not tested.

#[path = "fixtures/walk.rs"]
mod walk;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("CANARY_CHROMIUM").map(PathBuf::from) {
        assert!(
            p.is_file(),
            "CANARY_CHROMIUM={} is not a file: install Chromium with `apt-get update && \
             apt-get install -y chromium` or fix the variable",
            p.display()
        );
        return p;
    }
    for name in ["chromium", "chromium-browser"] {
        if let Some(dir) = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .find(|d| d.join(name).is_file())
        {
            return dir.join(name);
        }
    }
    panic!(
        "headless Chromium is needed to test report.html and was not found on PATH: install it \
         with `apt-get update && apt-get install -y chromium` (or point CANARY_CHROMIUM at a \
         chromium binary)"
    );
}

/// Runs chromium headless with `args` on `page`, returning stdout; kills it after a minute.
fn run_chromium(profile: &Path, page: &Path, args: &[&str]) -> String {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
        s
    });
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

#[test]
fn chromium_renders_the_timeline_the_heatmap_and_the_failure() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run-a");
    walk::write_run(&run, &walk::shard_a());
    let files = canary::report::write_reports(&run).unwrap();
    let page = files.report_html.canonicalize().unwrap();
    let profile = dir.path().join("profile");

    let dom = run_chromium(&profile, &page, &["--dump-dom"]);
    assert!(
        dom.contains("<section id=\"timeline\""),
        "no timeline in:\n{dom}"
    );
    // One bar per step, the failed one among them, inside a rendered <svg>.
    let timeline = &dom[dom.find("id=\"timeline\"").unwrap()..];
    let timeline = &timeline[..timeline.find("</section>").unwrap()];
    assert!(timeline.contains("<svg"));
    assert_eq!(timeline.matches("<rect class=\"step ").count(), 4);
    assert_eq!(timeline.matches("<rect class=\"step failed\"").count(), 1);
    let heat = &dom[dom.find("id=\"heatmap\"").expect("heatmap section")..];
    let heat = &heat[..heat.find("</section>").unwrap()];
    assert_eq!(heat.matches("class=\"cell\"").count(), 3);
    let fail = &dom[dom.find("id=\"failures\"").expect("failures section")..];
    let fail = &fail[..fail.find("</section>").unwrap()];
    assert!(fail.contains("api.pool.type"));
    assert!(fail.contains("pool type lags the sidechain switch"));
    assert!(fail.contains(&walk::shard_a().replay));
    assert!(fail.contains("<pre class=\"observed\">\"mini\"</pre>"));
    assert!(fail.contains("<pre class=\"expected\">\"nano\"</pre>"));
    assert!(!dom.contains("<script"));

    let shot = dir.path().join("report.png");
    run_chromium(
        &profile,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2200",
        ],
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    if let Some(keep) = std::env::var_os("CANARY_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

#[test]
fn chromium_finds_no_markup_from_hostile_values() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    walk::write_run(&run, &walk::hostile());
    let files = canary::report::write_reports(&run).unwrap();
    let page = files.report_html.canonicalize().unwrap();
    let dom = run_chromium(&dir.path().join("profile"), &page, &["--dump-dom"]);
    // The parsed document holds no element a hostile value could have smuggled in...
    for element in ["<script", "<img", "<evil", "<b>"] {
        assert!(
            !dom.contains(element),
            "{element} element in the rendered DOM"
        );
    }
    // ...and shows the values as text.
    assert!(
        dom.contains("mini&lt;script&gt;alert(\"x&amp;y\")&lt;/script&gt;'"),
        "{dom}"
    );
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert_eq!(dom.matches("<rect class=\"step ").count(), 4);
}
