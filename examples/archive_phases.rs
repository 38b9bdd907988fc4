//! Where the time goes when an archive is loaded, natively.
//!
//! - `archive_phases FILE...` prints each file's stages (see `backprop_lab::data::archive_phases`) as JSON;
//! - `archive_phases pack DIR OUT` reads the CIFAR-10 batches of DIR and writes them as both downloads,
//!   `OUT/cifar-10-binary.tar.gz` and `OUT/cifar-10-python.tar.gz`, laid out like the official ones (for
//!   measuring the python archive when only the binary batches are at hand).
//!
//! The wasm half is `bench_wasm`'s `archive_phases`, driven by `scripts/bench-archive` in Node.
use std::error::Error;
use std::path::Path;
use std::time::Instant;

use backprop_lab::data::archive_phases;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, data, out] = args.as_slice() {
        if command == "pack" {
            return pack(Path::new(data), Path::new(out));
        }
    }
    let origin = Instant::now();
    for path in &args {
        let bytes = std::fs::read(path)?;
        let name = path.rsplit('/').next().unwrap_or(path);
        let phases = archive_phases(name, &bytes, || origin.elapsed().as_secs_f64())?;
        println!(
            "{}",
            serde_json::json!({ "file": name, "runtime": "native", "phases": phases })
        );
    }
    Ok(())
}

/// Packing reads a directory; in a wasm build (`wasm-pack test` compiles the examples too) it says so.
#[cfg(target_arch = "wasm32")]
fn pack(_data: &Path, _out: &Path) -> Result<(), Box<dyn Error>> {
    Err("archive_phases pack runs natively only".into())
}

#[cfg(not(target_arch = "wasm32"))]
fn pack(data: &Path, out: &Path) -> Result<(), Box<dyn Error>> {
    use backprop_lab::data::{load_path, write_archive, ArchiveFormat};
    let dataset = load_path(data)?;
    std::fs::create_dir_all(out)?;
    for (format, name) in [
        (ArchiveFormat::Binary, "cifar-10-binary.tar.gz"),
        (ArchiveFormat::Python, "cifar-10-python.tar.gz"),
    ] {
        std::fs::write(out.join(name), write_archive(&dataset, format, 5))?;
        eprintln!("wrote {}", out.join(name).display());
    }
    Ok(())
}
