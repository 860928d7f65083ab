//! Confines a path sent by the client to the volume: relative to it, no `..`, no `~`, and
//! no symlink on the way that leads out. The result is relative, because rsync runs with
//! the volume as its working directory.

use std::path::{Component, Path, PathBuf};

use super::refusal::Refusal;

/// Returns `arg` as a path relative to `volume` (canonical), or why it is refused.
/// An absolute path is accepted only when it lies in the volume.
pub fn confine(volume: &Path, arg: &str) -> Result<String, Refusal> {
    if arg.starts_with('~') {
        return Err(Refusal::Home(arg.to_string()));
    }
    let relative = if arg.starts_with('/') {
        relative_to_volume(volume, arg)?
    } else {
        arg.to_string()
    };
    let parsed = Path::new(&relative);
    if parsed.components().any(|c| c == Component::ParentDir) {
        return Err(Refusal::DotDot(arg.to_string()));
    }
    check_existing_prefix(volume, parsed, arg)?;
    Ok(if relative.is_empty() {
        ".".into()
    } else {
        relative
    })
}

/// Strips the volume's own absolute path from `arg`, keeping a trailing slash (it matters to
/// rsync).
fn relative_to_volume(volume: &Path, arg: &str) -> Result<String, Refusal> {
    let outside = || Refusal::OutsideVolume(arg.to_string());
    if Path::new(arg)
        .components()
        .any(|c| c == Component::ParentDir)
    {
        return Err(Refusal::DotDot(arg.to_string()));
    }
    let rest = Path::new(arg).strip_prefix(volume).map_err(|_| outside())?;
    let mut relative = rest.to_string_lossy().into_owned();
    if arg.ends_with('/') && !relative.is_empty() {
        relative.push('/');
    }
    Ok(relative)
}

/// Walks the part of the path that exists and requires that it resolves inside the volume,
/// so a symlink planted by an earlier transfer cannot redirect this one.
fn check_existing_prefix(volume: &Path, relative: &Path, arg: &str) -> Result<(), Refusal> {
    let mut current = PathBuf::from(volume);
    for component in relative.components() {
        let Component::Normal(name) = component else {
            continue;
        };
        current.push(name);
        match std::fs::canonicalize(&current) {
            Ok(resolved) if resolved.starts_with(volume) => {}
            Ok(_) => return Err(Refusal::Escapes(arg.to_string())),
            // A dangling symlink is refused too: rsync would create its target.
            Err(_) if std::fs::symlink_metadata(&current).is_ok() => {
                return Err(Refusal::Escapes(arg.to_string()));
            }
            // Not there yet: rsync creates it inside what we checked.
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let vol = dir.path().join("vol");
        std::fs::create_dir_all(vol.join("sub")).unwrap();
        let vol = std::fs::canonicalize(vol).unwrap();
        (dir, vol)
    }

    #[test]
    fn relative_paths_stay_as_sent() {
        let (_d, vol) = volume();
        assert_eq!(confine(&vol, "sub/").unwrap(), "sub/");
        assert_eq!(confine(&vol, "new/dir").unwrap(), "new/dir");
        assert_eq!(confine(&vol, ".").unwrap(), ".");
        assert_eq!(confine(&vol, "").unwrap(), ".");
    }

    #[test]
    fn absolute_inside_becomes_relative() {
        let (_d, vol) = volume();
        let inside = format!("{}/sub/", vol.display());
        assert_eq!(confine(&vol, &inside).unwrap(), "sub/");
        assert_eq!(confine(&vol, &vol.display().to_string()).unwrap(), ".");
    }

    #[test]
    fn refusals() {
        let (dir, vol) = volume();
        std::os::unix::fs::symlink("/etc", vol.join("out")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("nowhere"), vol.join("dangling")).unwrap();
        std::os::unix::fs::symlink("sub", vol.join("in")).unwrap();
        let code = |a: &str| confine(&vol, a).unwrap_err().code();
        assert_eq!(code("/etc"), "outside-volume");
        assert_eq!(code("/"), "outside-volume");
        assert_eq!(code("../x"), "dot-dot");
        assert_eq!(code("sub/../../x"), "dot-dot");
        assert_eq!(code(&format!("{}/../x", vol.display())), "dot-dot");
        assert_eq!(code("out/"), "symlink-escape");
        assert_eq!(code("out/passwd"), "symlink-escape");
        assert_eq!(code("dangling"), "symlink-escape");
        assert_eq!(code("~/x"), "home-path");
        assert_eq!(confine(&vol, "in/x").unwrap(), "in/x");
    }
}
