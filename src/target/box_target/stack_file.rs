//! Reading a file of the stack directory as the box has it (the compose file the preflight
//! compares with the model), read-only, through the box's executor.

use super::{BoxTarget, TargetError, deadline};

impl BoxTarget {
    /// `name` in the stack directory, or `None` when it is missing. Never for `.env`: its
    /// secrets must not leave the box.
    pub async fn read_stack_file(&self, name: &str) -> Result<Option<Vec<u8>>, TargetError> {
        debug_assert!(!name.starts_with(".env"), "secrets stay on the box");
        self.exec
            .read_file(&self.privilege, &self.dir, name, self.command_timeout)
            .await
            .map_err(deadline("deadline.observe", || format!("reading {name}")))
    }
}
