//! The generated data set is pinned byte for byte: the page, the CLI and every result recorded in README.md and
//! BENCHMARKS.md train on it, so a faster generator must make exactly the same images from the same seed. The
//! fingerprints were taken from the generator that drew one pixel at a time (before it was vectorised); the
//! wasm tests (tests/wasm_node.rs) check the same numbers, so the page's data is the native data.
#[path = "common/synthetic_bytes.rs"]
mod synthetic_bytes;

use backprop_lab::data::{synthetic, SyntheticConfig};
use synthetic_bytes::PINNED;

#[test]
fn the_generated_data_set_has_the_same_bytes_as_before() {
    assert_eq!(
        PINNED[0].0,
        SyntheticConfig::default(),
        "the first pinned set is the default one"
    );
    for (config, fingerprint) in PINNED {
        assert_eq!(
            synthetic(&config).fingerprint(),
            fingerprint,
            "{config:?}: expected the pinned bytes, found others"
        );
    }
}
