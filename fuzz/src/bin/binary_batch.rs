//! Fuzz target `binary_batch`: see `harness::binary_batch`.

fn main() {
    afl::fuzz!(|data: &[u8]| backprop_lab_fuzz::harness::binary_batch(data));
}
