//! Writes Ferry's CustomResourceDefinitions to `charts/ferry/crds/` (or the directory given),
//! so the chart's CRDs always come from the Rust types.

use std::path::PathBuf;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("charts/ferry/crds"), PathBuf::from);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (file, yaml) in ferry_api::crd::render_all()? {
        let path = dir.join(file);
        std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
