//! Surviving a dead worker. The page keeps the latest snapshot of the run (a saved run, see
//! [`crate::train::checkpoint`]) and, after a worker trapped, starts a new one, gives it the data and the
//! configuration again and resumes it from that snapshot. [`Request::Trap`] makes a worker trap on purpose, so
//! that the end-to-end tests can kill one the way an out-of-memory abort or a panic would.
use std::alloc::Layout;

use serde::{Deserialize, Serialize};

use super::protocol::Response;
use super::{Session, SessionError};
use crate::error::TrainError;
use crate::train::Trainer;

/// How [`Request::Trap`] kills the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrapKind {
    /// A Rust panic (in wasm: the panic hook reports it, then the module traps).
    Panic,
    /// The allocator's out-of-memory abort, as when `memory.grow` fails (no panic hook runs).
    OutOfMemory,
    /// An endless loop: the worker never answers again and never says why (the page's watchdog,
    /// `src/web/watchdog.rs`, has to notice the silence).
    Hang,
}

impl Session {
    /// The run so far as a saved run (its bytes go to `out`); the page keeps it as its snapshot.
    pub(super) fn save_run(&mut self, out: &mut Vec<u8>) -> Result<Response, SessionError> {
        let trainer = self
            .trainer
            .as_mut()
            .filter(|trainer| trainer.steps_done() > 0)
            .ok_or_else(|| SessionError::request("snapshot", "a run with at least one step", "no step taken yet"))?;
        *out = trainer.save_run().map_err(TrainError::from)?;
        Ok(Response::Snapshot {
            step: trainer.steps_done(),
            bytes: out.len(),
        })
    }

    /// Continues the run saved in the first attachment, on the data this session holds (the page restores it
    /// first), with the configuration the run was saved with (the form shows it). A run of other data is refused.
    pub(super) fn resume_run(
        &mut self,
        attachments: &[(String, Vec<u8>)],
        out: &mut Vec<u8>,
    ) -> Result<Response, SessionError> {
        let (name, bytes) = attachments
            .first()
            .ok_or_else(|| SessionError::request("resume", "a saved run attached", "no attachment"))?;
        let trainer = Trainer::resume_run(bytes, &self.dataset)
            .map_err(|error| SessionError::request("resume", "a saved run of this data", format!("{name}: {error}")))?;
        self.adopt(trainer);
        Ok(Response::State(self.state(out)))
    }
}

/// Kills the worker on purpose (the end-to-end tests' way to make it trap or hang; the page never sends it).
pub fn trap(kind: TrapKind) -> ! {
    match kind {
        // `black_box` keeps the loop a loop: the worker is busy for ever, as in a real endless loop.
        TrapKind::Hang => loop {
            std::hint::black_box(());
        },
        TrapKind::Panic => panic!("{}", trap_message(kind)),
        // What the allocator does when memory cannot grow: abort without unwinding or a panic hook.
        TrapKind::OutOfMemory => {
            std::alloc::handle_alloc_error(Layout::from_size_align(isize::MAX as usize / 2, 8).expect("a valid layout"))
        }
    }
}

/// The panic message of [`TrapKind::Panic`].
pub fn trap_message(kind: TrapKind) -> String {
    format!("the worker was told to trap ({kind:?}), as a test of the page's recovery")
}
