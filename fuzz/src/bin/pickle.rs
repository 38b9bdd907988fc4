//! Fuzz target `pickle`: see `harness::pickle`.

fn main() {
    afl::fuzz!(|data: &[u8]| backprop_lab_fuzz::harness::pickle(data));
}
