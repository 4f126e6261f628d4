//! The model's `[readiness]` table, checked.

use super::*;

/// `[readiness]`: positive windows, at least two polls, slow fields among the expected ones.
pub(super) fn readiness(
    cx: &mut Ctx<'_>,
    raw: Option<&Spanned<RawReadiness>>,
    api: &[Derived],
) -> crate::ReadinessModel {
    let mut out = crate::ReadinessModel::default();
    let Some(raw) = raw else {
        return out;
    };
    let at = raw.span().start;
    let r = raw.get_ref();
    if let Some(n) = r.settle_polls {
        if n < 2 {
            cx.error(
                at,
                "[readiness] settle_polls must be at least 2",
                "two equal polls are the least that shows a box stopped changing",
            );
        }
        out.settle_polls = n.max(2);
    }
    for (target, secs) in &r.window {
        if !secs.is_finite() || *secs < 0.0 {
            cx.error(
                at,
                format!("[readiness] window.{target} = {secs} is not a number of seconds"),
                "use a non-negative number like 5",
            );
        }
        out.window.insert(target.clone(), secs.max(0.0));
    }
    if let Some(s) = r.slow_window {
        if !s.is_finite() || s < 0.0 {
            cx.error(
                at,
                format!("[readiness] slow_window = {s} is not a number of seconds"),
                "use a non-negative number like 60",
            );
        }
        out.slow_window = s.max(0.0);
    }
    for f in &r.slow {
        if !api.iter().any(|a| &a.key == f) {
            cx.error(
                at,
                format!("[readiness] slow field {f:?} is not an expected [api] field"),
                "list fields declared as [api.\"...\"]",
            );
        }
    }
    out.slow = r.slow.clone();
    out.progress = r.progress.clone();
    out
}
