//! The built-in model as the tests load it, and every prerequisite it asks for supplied.
#![allow(dead_code)]

use std::path::Path;

use canary::model::{BUILTIN_PITHEAD, Model, Supplied, load_str};

/// `strategies/pithead.toml` as built in.
pub fn pithead() -> Model {
    load_str(BUILTIN_PITHEAD, Path::new("pithead.toml")).unwrap()
}

/// Every prerequisite of the built-in model supplied, so no value is left out for want of one.
pub fn all_supplies() -> Supplied {
    Supplied(
        [
            ("remote_monero_host", "node.lan"),
            ("remote_tari_host", "tari.lan"),
            ("full_data_dir", "/srv/full"),
            ("monero_view_key", &"ab".repeat(32)),
            ("subnet_cold_apply", "yes"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    )
}
