//! The shrinker run on a synthetic setting, as most shrink tests run it.
#![allow(dead_code)]

use canary::shrink::synthetic::{Setting, SyntheticOracle};
use canary::shrink::{Failure, ShrinkOptions, ShrinkReport, Step, shrink};

/// Shrinks `failure` against a fresh copy of `s`'s oracle: the report, and the oracle as the
/// shrink left it (its log of runs, the invalid candidates it was handed).
pub fn shrink_with<S: Step>(
    s: &Setting<S>,
    failure: &Failure<S>,
    options: &ShrinkOptions,
) -> (ShrinkReport<S>, SyntheticOracle<S>) {
    let mut oracle = s.oracle.clone();
    let r = shrink(
        &s.oracle.model,
        &s.oracle.supplied,
        failure,
        &mut oracle,
        options,
    );
    (r, oracle)
}
