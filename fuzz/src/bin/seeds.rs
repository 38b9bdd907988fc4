//! Writes the seed corpus into `DIR/<target>/<name>` (`scripts/fuzz` runs it before fuzzing).

use std::path::PathBuf;

fn main() -> Result<(), String> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: seeds DIR")?);
    for (target, name, bytes) in backprop_lab_fuzz::seeds::seeds() {
        let folder = dir.join(target);
        std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        std::fs::write(folder.join(&name), bytes).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}
