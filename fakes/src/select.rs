//! Which engine plays Compose for a box: the process engine or real Compose on the docker
//! mini-stack. The one place that knows both, so neither engine imports the other.

use anyhow::{Result, bail};

use crate::docker;
use crate::engine::{Engine, ProcessEngine, teardown_processes};
use crate::stack::Stack;

/// Which engine plays Compose for a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Local processes of this binary ([`crate::engine::ProcessEngine`]).
    Process,
    /// Real Compose on the docker mini-stack ([`crate::docker::DockerEngine`]).
    Docker,
}

impl EngineKind {
    /// From `PITHEAD_FAKE_ENGINE` (`process`, the default, or `docker`).
    pub fn from_env() -> Result<EngineKind> {
        match std::env::var("PITHEAD_FAKE_ENGINE").as_deref() {
            Err(_) | Ok("") | Ok("process") => Ok(EngineKind::Process),
            Ok("docker") => Ok(EngineKind::Docker),
            Ok(other) => bail!("PITHEAD_FAKE_ENGINE must be process or docker (got {other:?})"),
        }
    }

    /// The engine of a box: `PITHEAD_FAKE_ENGINE` when set, else docker when the box was
    /// set up for it (`.pithead-fake/docker.json`), else processes.
    pub fn of(stack: &Stack) -> Result<EngineKind> {
        match std::env::var("PITHEAD_FAKE_ENGINE").as_deref() {
            Err(_) | Ok("") if docker::is_docker(stack) => Ok(EngineKind::Docker),
            _ => EngineKind::from_env(),
        }
    }
}

/// Opens the engine of a box.
pub fn open(stack: &Stack) -> Result<Box<dyn Engine>> {
    match EngineKind::of(stack)? {
        EngineKind::Process if docker::is_docker(stack) => bail!(
            "{} is a docker mini-stack; unset PITHEAD_FAKE_ENGINE (or set it to docker)",
            stack.dir.display()
        ),
        EngineKind::Process => Ok(Box::new(ProcessEngine::open(stack)?)),
        EngineKind::Docker => Ok(Box::new(docker::open(stack)?)),
    }
}

/// Kills every process in a box's ledger that is still alive, and clears the state; on a
/// docker mini-stack, removes every container and network of its compose project.
pub fn teardown(stack: &Stack) -> Result<usize> {
    if docker::is_docker(stack) {
        return docker::DockerEngine::open(stack)?.purge();
    }
    teardown_processes(stack)
}
