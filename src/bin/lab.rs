//! `lab`: the native command-line front end (filled in by the CLI work).
#[cfg(not(target_arch = "wasm32"))]
fn main() {}

#[cfg(target_arch = "wasm32")]
fn main() {}
