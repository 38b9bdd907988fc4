//! Fuzz target `safetensors`: see `harness::safetensors`.

fn main() {
    afl::fuzz!(|data: &[u8]| backprop_lab_fuzz::harness::safetensors(data));
}
