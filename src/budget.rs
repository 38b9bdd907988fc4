//! The memory budget: what a training run and a data set may take, checked against an estimate made from the
//! configuration or from file headers *before* anything is allocated, so that an absurd value is refused with
//! a message instead of aborting the process (in the page: killing the worker).
//!
//! The budgets leave room in wasm32's 4 GiB address space (the page's worker holds the data and one model),
//! and on a native machine they stop a typo from swapping the machine to a halt.

/// Bytes in a GiB.
const GIB: u64 = 1 << 30;

/// The most a training run and a data set may take where this code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    /// Parameters, gradients, optimizer state and the activations of one batch, on every thread.
    pub training_bytes: u64,
    /// The loaded images and labels.
    pub data_bytes: u64,
    /// Where the budget applies, for messages ("in the browser", "natively").
    pub place: &'static str,
}

impl MemoryBudget {
    /// 2 GiB of training and 1 GiB of data in wasm32; 16 GiB and 8 GiB natively.
    pub const fn for_target() -> Self {
        if cfg!(target_arch = "wasm32") {
            MemoryBudget {
                training_bytes: 2 * GIB,
                data_bytes: GIB,
                place: "in the browser",
            }
        } else {
            MemoryBudget {
                training_bytes: 16 * GIB,
                data_bytes: 8 * GIB,
                place: "natively",
            }
        }
    }
}

/// A byte count for people: "512 B", "37.5 MiB", "2.0 GiB", "1.2e6 TiB".
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    for unit in &UNITS[..UNITS.len() - 1] {
        if value < 1024.0 {
            return format!("{value:.1} {unit}");
        }
        value /= 1024.0;
    }
    if value < 1e4 {
        format!("{value:.1} TiB")
    } else {
        format!("{value:.1e} TiB")
    }
}
