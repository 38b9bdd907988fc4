//! The fuzz targets' bodies (in `harness.rs`, which `tests/fuzz_regressions.rs` includes too, so every input
//! the fuzzer ever found is replayed by `cargo test` through the same code) and the seed corpus.

pub mod harness;
pub mod seeds;
