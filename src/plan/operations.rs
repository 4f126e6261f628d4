//! Operations in a plan: every enabled operation once in every state class it names, placed
//! into the config walks the covering search produced.
//!
//! A goal is (operation, the effective values of its class axes). It is met where the walk
//! already holds such a config: the operation runs right after that apply, adding no apply.
//! A class no step holds gets a detour: apply a config of that class, run the operation, and
//! apply back to the config the walk left, so every planned value change keeps its
//! predecessor. A restore needs a backup before it and brings back the backed-up config, so
//! the pair brackets one changing apply of the walk, which is applied again after the restore.
//! Classes no allowed config can hold are reported as infeasible, never waited on.

use serde::Serialize;

use crate::model::{Config, Model, OpGroup, OpKind, Transition};

use super::StepRef;

/// An operation goal: run `operation` on a box whose effective config holds `class`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationGoal {
    /// Index into the model's operations.
    pub operation: usize,
    /// (axis, model value index) cells of the class, sorted by axis; empty for "anywhere".
    pub class: Vec<(usize, u16)>,
    /// The first step that meets it.
    pub first: Option<StepRef>,
}

/// Where the goals of the enabled operations stand once placed.
#[derive(Debug, Clone, Default)]
pub(super) struct Placed {
    pub goals: Vec<OperationGoal>,
    pub infeasible: Vec<OperationGoal>,
}

/// Whether `effective` may be planned: allowed values, no constraint broken by the raw config
/// canary would write for it, and the raw config renders back to it.
fn plannable(model: &Model, allowed: &[Vec<u16>], effective: &Config) -> bool {
    if effective
        .0
        .iter()
        .enumerate()
        .any(|(a, v)| !allowed[a].contains(v))
    {
        return false;
    }
    let raw = model.raw_for(effective);
    model.violation(&raw.0).is_none() && model.effective(&raw) == *effective
}

fn holds(class: &[(usize, u16)], effective: &Config) -> bool {
    class.iter().all(|&(a, v)| effective.0[a] == v)
}

/// Every combination of the allowed values of `axes`.
fn classes(axes: &[usize], allowed: &[Vec<u16>]) -> Vec<Vec<(usize, u16)>> {
    let mut out: Vec<Vec<(usize, u16)>> = vec![Vec::new()];
    let mut sorted = axes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for a in sorted {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                allowed[a].iter().map(move |&v| {
                    let mut c = prefix.clone();
                    c.push((a, v));
                    c
                })
            })
            .collect();
    }
    out
}

/// Places the operations of the enabled groups into `walks` (each a closed walk of raw
/// configs from the baseline, as transitions) and returns the goals.
pub(super) fn place(
    model: &Model,
    enabled: &[OpGroup],
    allowed: &[Vec<u16>],
    baseline: &Config,
    walks: &mut [Vec<Transition>],
) -> Placed {
    let mut placed = Placed::default();
    if walks.is_empty() {
        return placed;
    }
    let base_eff = model.effective(baseline);
    let effective_of = |t: &Transition| t.config().map(|c| model.effective(c));
    // Operations after each apply of each walk: (walk, transition index) -> ops, and detours
    // appended before a walk's final return.
    let mut after: Vec<Vec<Vec<u16>>> = walks.iter().map(|w| vec![Vec::new(); w.len()]).collect();
    let mut detours: Vec<(Config, Vec<u16>)> = Vec::new();
    let mut at_start: Vec<u16> = Vec::new();

    for (i, op) in model.operations.iter().enumerate() {
        if !enabled.contains(&op.group) || matches!(op.kind, OpKind::Backup | OpKind::Restore) {
            continue;
        }
        for class in classes(&op.classes, allowed) {
            let goal = OperationGoal {
                operation: i,
                class: class.clone(),
                first: None,
            };
            let fits = |eff: &Config| holds(&class, eff) && op.allowed_on(&eff.0);
            // Already in a walk? Run it right after the first apply that gets there.
            let mut found = false;
            if fits(&base_eff) {
                at_start.push(i as u16);
                found = true;
            }
            'walks: for (w, walk) in walks.iter().enumerate() {
                if found {
                    break;
                }
                for (s, t) in walk.iter().enumerate() {
                    if effective_of(t).is_some_and(|e| fits(&e)) {
                        after[w][s].push(i as u16);
                        found = true;
                        break 'walks;
                    }
                }
            }
            if !found {
                // A detour: the nearest plannable config of the class.
                let candidates = std::iter::once(base_eff.clone())
                    .chain(walks.iter().flatten().filter_map(effective_of));
                let witness = candidates
                    .map(|mut e| {
                        for &(a, v) in &class {
                            e.0[a] = v;
                        }
                        e
                    })
                    .find(|e| fits(e) && plannable(model, allowed, e));
                match witness {
                    Some(e) => {
                        let raw = model.raw_for(&e);
                        match detours.iter_mut().find(|(c, _)| *c == raw) {
                            Some((_, ops)) => ops.push(i as u16),
                            None => detours.push((raw, vec![i as u16])),
                        }
                    }
                    None => {
                        placed.infeasible.push(goal);
                        continue;
                    }
                }
            }
            placed.goals.push(goal);
        }
    }

    // Rebuild each walk with its operations; detours go into the first walk, before its
    // final return to the baseline.
    for (w, walk) in walks.iter_mut().enumerate() {
        let old = std::mem::take(walk);
        let n = old.len();
        if w == 0 {
            walk.extend(at_start.iter().map(|&i| Transition::Operate(i)));
        }
        for (s, t) in old.into_iter().enumerate() {
            let last = s + 1 == n;
            if w == 0 && last {
                let back = walk
                    .iter()
                    .rev()
                    .find_map(|t| t.config().cloned())
                    .unwrap_or_else(|| baseline.clone());
                for (raw, ops) in &detours {
                    walk.push(Transition::Apply(raw.clone()));
                    walk.extend(ops.iter().map(|&i| Transition::Operate(i)));
                    walk.push(Transition::Apply(back.clone()));
                }
            }
            walk.push(t);
            walk.extend(after[w][s].iter().map(|&i| Transition::Operate(i)));
        }
        if w == 0 && n == 0 {
            for (raw, ops) in &detours {
                walk.push(Transition::Apply(raw.clone()));
                walk.extend(ops.iter().map(|&i| Transition::Operate(i)));
                walk.push(Transition::Apply(baseline.clone()));
            }
        }
    }

    place_backup_restore(model, enabled, allowed, baseline, walks, &mut placed);
    placed
}

/// A backup, one changing apply, a restore back to the backed-up config, and that apply
/// again (so the walk goes on from where it was): §5.2.4 of the harness as one bracket.
fn place_backup_restore(
    model: &Model,
    enabled: &[OpGroup],
    allowed: &[Vec<u16>],
    baseline: &Config,
    walks: &mut [Vec<Transition>],
    placed: &mut Placed,
) {
    let find = |kind: OpKind| {
        model
            .operations
            .iter()
            .position(|o| o.kind == kind && enabled.contains(&o.group))
    };
    let Some(backup) = find(OpKind::Backup) else {
        // Without a backup no restore can run.
        if let Some(restore) = find(OpKind::Restore) {
            placed.infeasible.push(OperationGoal {
                operation: restore,
                class: vec![],
                first: None,
            });
        }
        return;
    };
    let restore = find(OpKind::Restore);
    for i in [Some(backup), restore].into_iter().flatten() {
        placed.goals.push(OperationGoal {
            operation: i,
            class: vec![],
            first: None,
        });
    }
    let walk = &mut walks[0];
    // The first apply that changes the effective config, preferring a pool change (what the
    // harness flips), with the config the box is at before it.
    let pool = model.axis_index("p2pool.pool");
    let mut prev = model.effective(baseline);
    let mut prev_raw = baseline.clone();
    let mut pick: Option<(usize, Config)> = None;
    for (s, t) in walk.iter().enumerate() {
        let Some(raw) = t.config() else { continue };
        let eff = model.effective(raw);
        if eff != prev {
            let pool_change = pool.is_some_and(|a| eff.0[a] != prev.0[a]);
            if pick.is_none() || pool_change {
                pick = Some((s, prev_raw.clone()));
            }
            if pool_change {
                break;
            }
        }
        prev = eff;
        prev_raw = raw.clone();
    }
    let (backup, restore) = (backup as u16, restore.map(|r| r as u16));
    match pick {
        Some((s, _)) => {
            let again = walk[s].clone();
            let mut insert = vec![Transition::Operate(backup)];
            insert.push(again.clone());
            if let Some(r) = restore {
                insert.push(Transition::Operate(r));
                insert.push(again);
            }
            walk.splice(s..=s, insert);
        }
        None => {
            // A walk that never leaves the baseline: bracket a detour to any other plannable
            // config.
            let base_eff = model.effective(baseline);
            let other = (0..allowed.len())
                .flat_map(|a| allowed[a].iter().map(move |&v| (a, v)))
                .map(|(a, v)| {
                    let mut e = base_eff.clone();
                    e.0[a] = v;
                    e
                })
                .find(|e| *e != base_eff && plannable(model, allowed, e));
            walk.insert(0, Transition::Operate(backup));
            if let (Some(e), Some(r)) = (other, restore) {
                walk.insert(1, Transition::Apply(model.raw_for(&e)));
                walk.insert(2, Transition::Operate(r));
            }
        }
    }
}
