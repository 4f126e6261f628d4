//! Reading what a run wrote: its journal without the fields no two runs share, a CSV report as
//! rows.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;

use canary::journal::read_journal;

/// The journal at `path` as JSON values, each without its `ts` and `wall_ms` (asserted there).
pub fn without_wall_clock(path: &Path) -> Vec<serde_json::Value> {
    without(path, &[])
}

/// [`without_wall_clock`], each entry also without the fields `also` (absent ones ignored).
pub fn without(path: &Path, also: &[&str]) -> Vec<serde_json::Value> {
    read_journal(path)
        .unwrap()
        .into_iter()
        .map(|e| {
            let mut v = serde_json::to_value(&e).unwrap();
            let o = v.as_object_mut().unwrap();
            assert!(o.remove("ts").is_some() && o.remove("wall_ms").is_some());
            for key in also {
                o.remove(*key);
            }
            v
        })
        .collect()
}

/// The rows of a CSV file, each as header → value.
pub fn rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}
