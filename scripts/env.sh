# Sourced by the scripts (and by hand: `source scripts/env.sh`) so the pinned tools come first on PATH:
# npm's binaryen wasm-opt 132 (node_modules/.bin), then what `cargo install` put in ~/.cargo/bin.
lab_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$lab_root/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# wasm-bindgen-test-runner looks for geckodriver first; point it (and wasm-pack) at Debian's chromedriver.
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
