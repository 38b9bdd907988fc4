//! Fuzz target `class_names`: see `harness::class_names`.

fn main() {
    afl::fuzz!(|data: &[u8]| backprop_lab_fuzz::harness::class_names(data));
}
