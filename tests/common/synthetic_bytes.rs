//! The fingerprints of the generated data set, taken from the generator that drew one pixel at a time (before
//! it was vectorised): tests/synthetic_bytes.rs checks them natively, tests/wasm_node.rs in WebAssembly.
use backprop_lab::data::SyntheticConfig;

/// The default data set (seed 42, 5,000 + 1,000 images) and a small one of another seed.
pub const PINNED: [(SyntheticConfig, u64); 2] = [
    (
        SyntheticConfig {
            seed: 42,
            train_size: 5000,
            test_size: 1000,
        },
        0x5672_61c4_a094_8a32,
    ),
    (
        SyntheticConfig {
            seed: 7,
            train_size: 333,
            test_size: 77,
        },
        0x7271_2e51_0cae_93f6,
    ),
];
