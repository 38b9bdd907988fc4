//! Fuzz target `gzip`: see `harness::gzip`.

fn main() {
    afl::fuzz!(|data: &[u8]| backprop_lab_fuzz::harness::gzip(data));
}
