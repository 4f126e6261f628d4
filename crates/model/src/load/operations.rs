//! The model's `[[operation]]` tables, checked against its axes and services.

use super::*;

/// Every operation of the model, each checked: a unique name, a known service, a condition
/// over known axes, state classes that name axes.
pub(super) fn operations(
    cx: &mut Ctx,
    raw: &[Spanned<RawOperation>],
    axes: &[Axis],
    services: &[Service],
) -> Vec<Operation> {
    let mut operations: Vec<Operation> = Vec::new();
    for o in raw {
        let at = o.span().start;
        let o = o.get_ref();
        if operations.iter().any(|x| x.name == o.name) {
            cx.error(
                at,
                format!("duplicate operation '{}'", o.name),
                "rename or remove one",
            );
        }
        let Some(kind) = OpKind::from_name(&o.kind) else {
            cx.error(
                at,
                format!("operation '{}' has unknown kind '{}'", o.name, o.kind),
                format!("use one of: {}", OpKind::ALL.map(|k| k.name()).join(", ")),
            );
            continue;
        };
        let Some(group) = OpGroup::from_name(&o.group) else {
            cx.error(
                at,
                format!("operation '{}' has unknown group '{}'", o.name, o.group),
                "use lifecycle or faults",
            );
            continue;
        };
        if kind.needs_service() != o.service.is_some() && kind != OpKind::Restart {
            cx.error(
                at,
                format!(
                    "operation '{}' ({}) {}",
                    o.name,
                    kind.name(),
                    if kind.needs_service() {
                        "needs a service"
                    } else {
                        "takes no service"
                    }
                ),
                "set or remove `service`",
            );
        }
        let named = o
            .service
            .iter()
            .chain(&o.restarts)
            .chain(&o.may_restart)
            .chain(&o.recreates)
            .chain(
                o.during
                    .iter()
                    .flat_map(|d| d.stopped.iter().chain(&d.unhealthy).chain(&d.missing)),
            )
            .chain(o.readmit.iter().flat_map(|r| [&r.service, &r.after]));
        for s in named {
            let name = s.strip_prefix('-').unwrap_or(s);
            if name != "*" && !services.iter().any(|x| x.name == name) {
                cx.error(
                    at,
                    format!("operation '{}' names unknown service '{name}'", o.name),
                    "declare it in a [[service]] table",
                );
            }
        }
        let requires = match &o.requires {
            Some(text) => match compile(cx, axes, at, text, "operation condition") {
                Some(x) => Some(x),
                None => continue,
            },
            None => None,
        };
        let mut classes = Vec::new();
        for c in &o.classes {
            if let Some(i) = axis_index(cx, axes, at, c, || {
                format!("operation '{}' classes by unknown axis '{c}'", o.name)
            }) {
                classes.push(i);
            }
        }
        let (fault_actions, _) = kind.actions(o.service.as_deref());
        if let Some(r) = o.refuses
            && r >= fault_actions.len()
        {
            cx.error(
                at,
                format!(
                    "operation '{}' refuses at action {r}, but {} has {} fault actions",
                    o.name,
                    kind.name(),
                    fault_actions.len()
                ),
                "count the fault actions from 0",
            );
        }
        let within_ok = o
            .during
            .as_ref()
            .is_none_or(|d| d.within.is_finite() && d.within > 0.0);
        if !(o.cost.is_finite() && o.cost >= 0.0 && within_ok) {
            cx.error(
                at,
                format!("operation '{}' has a negative or non-finite time", o.name),
                "cost and within are seconds, more than 0",
            );
        }
        operations.push(Operation {
            name: o.name.clone(),
            kind,
            service: o.service.clone(),
            group,
            help: o.help.clone(),
            requires,
            requires_text: o.requires.clone(),
            classes,
            cost: o.cost,
            during: o
                .during
                .as_ref()
                .map(|d| During {
                    status_exit: d.status_exit,
                    stopped: d.stopped.clone(),
                    unhealthy: d.unhealthy.clone(),
                    missing: d.missing.clone(),
                    within: d.within,
                })
                .unwrap_or_default(),
            refuses: o.refuses,
            restarts: o.restarts.clone(),
            may_restart: o.may_restart.clone(),
            recreates: o.recreates.clone(),
            readmit: o.readmit.as_ref().map(|r| Readmit {
                service: r.service.clone(),
                after: r.after.clone(),
                stable: r.stable,
            }),
        });
    }
    operations
}
