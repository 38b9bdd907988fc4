//! Fuzz target `tar`: see `harness::tar`.

fn main() {
    afl::fuzz!(|data: &[u8]| backprop_lab_fuzz::harness::tar(data));
}
