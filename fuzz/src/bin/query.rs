//! Fuzz target `query`: see `harness::query`.

fn main() {
    afl::fuzz!(|data: &[u8]| backprop_lab_fuzz::harness::query(data));
}
