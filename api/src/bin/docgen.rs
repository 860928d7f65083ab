//! Writes the generated reference pages to `docs/reference/` (or the directory given), so
//! the annotation and CR reference always come from the constants and the CRD schema.

use std::path::PathBuf;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from(ferry_api::docs::DIR), PathBuf::from);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (file, markdown) in ferry_api::docs::render_all()? {
        let path = dir.join(file);
        std::fs::write(&path, markdown).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
