//! Walk steps from transitions: what a sequence of applies and operations does to the box's
//! config, and what the model predicts each step touches.

use crate::model::{Config, Model, OpKind, Supplied, Transition};

use super::Step;

/// [`steps_from`] for walks that mix operations with applies. An operation keeps the raw
/// config, except a restore, which brings back the config of the last backup before it (a
/// restore with no backup before it keeps the config; validation rejects such walks).
pub fn steps_from_transitions(
    model: &Model,
    supplied: &Supplied,
    start: &Config,
    transitions: impl IntoIterator<Item = Transition>,
) -> Vec<Step> {
    steps_after_backup(model, supplied, start, None, transitions)
}

/// [`steps_from_transitions`] from a point where the box already holds a backup of the raw
/// config `backup` (what a restore among `transitions` brings back).
pub fn steps_after_backup(
    model: &Model,
    supplied: &Supplied,
    start: &Config,
    backup: Option<Config>,
    transitions: impl IntoIterator<Item = Transition>,
) -> Vec<Step> {
    let mut raw = start.clone();
    let mut prev = model.effective(start);
    let mut backup = backup;
    transitions
        .into_iter()
        .map(|t| {
            let (op, config) = match t {
                Transition::Apply(c) => (None, c),
                Transition::Operate(i) => {
                    let o = &model.operations[i as usize];
                    if o.kind == OpKind::Backup {
                        backup = Some(raw.clone());
                    }
                    let after = match (&backup, o.changes_config()) {
                        (Some(b), true) => b.clone(),
                        _ => raw.clone(),
                    };
                    (Some(i as usize), after)
                }
            };
            let effective = model.effective(&config);
            let changed = (0..model.axes.len())
                .filter(|&a| prev.0[a] != effective.0[a])
                .collect();
            let prediction = match op {
                None => model.predict(&prev, &effective, supplied),
                Some(i) => {
                    model.predict_operation(&model.operations[i], &prev, &effective, supplied)
                }
            };
            prev = effective.clone();
            raw = config.clone();
            Step {
                op,
                config,
                effective,
                changed,
                prediction,
                // Coverage credit is the planner's to give; replayed and fuzzed steps carry none.
                new_tuples: 0,
                new_transitions: 0,
            }
        })
        .collect()
}
