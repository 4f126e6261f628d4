//! When a box walk must stop because the box is broken beyond anything the walk does: a
//! stack file gone (`.env` deleted under it), every container gone after two steps in a
//! row, or the CLI failing with the very same error on two steps in a row. Going on would only repeat that failure at every step (a deleted .env
//! once gave 8 more steps and 128 FAIL lines before the restore said the box was not back).

use super::Failure;

/// Watches the steps of one walk.
#[derive(Debug, Default)]
pub struct BrokenWatch {
    /// The previous step's apply failure message, if its apply failed.
    last_apply_error: Option<String>,
    /// Whether no container was running after the previous step.
    none_running: bool,
}

impl BrokenWatch {
    /// Why the walk must stop after step `index` (0-based), given the stack files missing now,
    /// how many containers run now (`None`: not observed) and the walk's failures so far;
    /// `None` to go on.
    pub fn after_step(
        &mut self,
        index: usize,
        missing: &[String],
        running: Option<usize>,
        failures: &[Failure],
    ) -> Option<String> {
        if !missing.is_empty() {
            return Some(format!(
                "step {}: {} gone from the stack directory (the walk never deletes {}): the box \
                 is broken beyond what the walk changes",
                index + 1,
                missing.join(" and "),
                if missing.len() == 1 { "it" } else { "them" }
            ));
        }
        let none_running = running == Some(0);
        let gone_twice = none_running && self.none_running;
        self.none_running = none_running;
        if gone_twice {
            return Some(format!(
                "steps {} and {}: no container is running after either: the box is broken \
                 beyond what the walk changes",
                index,
                index + 1
            ));
        }
        let error = failures
            .iter()
            .find(|f| f.step == index && f.verdict.check == "apply_exit")
            .map(|f| f.verdict.message.clone());
        let twice = error.is_some() && error == self.last_apply_error;
        self.last_apply_error = error;
        twice.then(|| {
            format!(
                "steps {} and {}: the CLI failed with the same error twice ({}): the box is \
                 broken beyond what the walk changes",
                index,
                index + 1,
                self.last_apply_error.as_deref().unwrap_or_default()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Verdict;

    fn apply_failed(step: usize, message: &str) -> Failure {
        Failure {
            step,
            verdict: Verdict {
                check: "apply_exit".into(),
                passed: false,
                observed: 1.into(),
                expected: 0.into(),
                message: message.into(),
            },
        }
    }

    #[test]
    fn a_missing_stack_file_stops_at_once() {
        let why = BrokenWatch::default()
            .after_step(1, &[".env".into()], Some(3), &[])
            .unwrap();
        assert!(why.starts_with("step 2: .env gone"), "{why}");
    }

    #[test]
    fn only_the_same_cli_error_on_consecutive_steps_stops() {
        let mut w = BrokenWatch::default();
        let f = vec![
            apply_failed(0, "pithead apply -y exited 1: error: a"),
            apply_failed(2, "pithead apply -y exited 1: error: a"),
            apply_failed(3, "pithead apply -y exited 1: error: b"),
            apply_failed(4, "pithead apply -y exited 1: error: b"),
        ];
        let stops: Vec<bool> = (0..5)
            .map(|i| w.after_step(i, &[], Some(3), &f).is_some())
            .collect();
        assert_eq!(stops, [false, false, false, false, true]);
    }

    #[test]
    fn every_container_gone_after_two_steps_in_a_row_stops() {
        let mut w = BrokenWatch::default();
        let stops: Vec<bool> = [Some(0), Some(4), Some(0), None, Some(0), Some(0)]
            .into_iter()
            .enumerate()
            .map(|(i, r)| w.after_step(i, &[], r, &[]).is_some())
            .collect();
        assert_eq!(stops, [false, false, false, false, false, true]);
    }
}
