//! Writing Secret, ConfigMap, downward-API and token files into a volume directory, honouring
//! `items` (key → path, per-item mode) and `defaultMode` the way the kubelet does.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path};

use k8s_openapi::api::core::v1::KeyToPath;

use super::error::{Error, Result};

/// The kubelet's default file mode for Secret, ConfigMap and projected volumes (0644).
pub const DEFAULT_MODE: u32 = 0o644;

/// One file to write: its path inside the volume, its bytes and its mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Relative path inside the volume.
    pub path: String,
    /// The content.
    pub data: Vec<u8>,
    /// Permission bits.
    pub mode: u32,
}

/// The files for a key/value source: every key under its own name, or only the listed
/// `items` under their paths. A listed key that is missing is an error unless `optional`.
pub fn select(
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
    optional: bool,
    what: &str,
) -> Result<Vec<File>> {
    let mode = mode_of(default_mode, DEFAULT_MODE);
    match items {
        None | Some([]) => Ok(data
            .iter()
            .map(|(k, v)| File {
                path: k.clone(),
                data: v.clone(),
                mode,
            })
            .collect()),
        Some(items) => {
            let mut files = Vec::new();
            for item in items {
                match data.get(&item.key) {
                    Some(v) => files.push(File {
                        path: item.path.clone(),
                        data: v.clone(),
                        mode: mode_of(item.mode, mode),
                    }),
                    None if optional => {}
                    None => {
                        return Err(Error::NotReady(format!("{what} has no key {}", item.key)));
                    }
                }
            }
            Ok(files)
        }
    }
}

/// A mode from the API (an int32 of permission bits), or the default.
pub fn mode_of(mode: Option<i32>, default: u32) -> u32 {
    mode.and_then(|m| u32::try_from(m).ok())
        .map_or(default, |m| m & 0o7777)
}

/// Checks that `path` stays inside the directory it is joined to: relative, no `..`.
pub fn check_relative(path: &str) -> Result<()> {
    let p = Path::new(path);
    if path.is_empty()
        || !p
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(Error::Unsupported(format!(
            "path {path:?} leaves its volume"
        )));
    }
    Ok(())
}

/// Writes `files` under `dir` (created 0755 when missing). Directories on the way are made
/// 0755, as the kubelet's atomic writer does.
pub fn write_all(dir: &Path, files: &[File]) -> Result<()> {
    make_dir(dir, 0o755)?;
    for file in files {
        check_relative(&file.path)?;
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            make_dir(parent, 0o755)?;
        }
        std::fs::write(&path, &file.data)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        set_mode(&path, file.mode)?;
    }
    Ok(())
}

/// Creates `dir` and its parents, then sets its mode (the runner's umask is not the pods').
pub fn make_dir(dir: &Path, mode: u32) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    set_mode(dir, mode)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(format!("setting the mode of {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> BTreeMap<String, Vec<u8>> {
        [("a", "1"), ("b", "2")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    fn item(key: &str, path: &str, mode: Option<i32>) -> KeyToPath {
        KeyToPath {
            key: key.into(),
            path: path.into(),
            mode,
            ..KeyToPath::default()
        }
    }

    #[test]
    fn every_key_with_the_default_mode() {
        let files = select(&data(), None, Some(0o400), false, "s").unwrap();
        assert_eq!(files.len(), 2);
        assert!(files.iter().all(|f| f.mode == 0o400));
        assert_eq!(files[0].path, "a");
    }

    #[test]
    fn items_pick_keys_paths_and_modes() {
        let items = [item("b", "dir/bee", Some(0o600))];
        let files = select(&data(), Some(&items), None, false, "s").unwrap();
        assert_eq!(
            files,
            [File {
                path: "dir/bee".into(),
                data: b"2".to_vec(),
                mode: 0o600
            }]
        );
    }

    #[test]
    fn a_missing_item_waits_unless_optional() {
        let items = [item("zzz", "z", None)];
        assert!(matches!(
            select(&data(), Some(&items), None, false, "s"),
            Err(Error::NotReady(_))
        ));
        assert!(
            select(&data(), Some(&items), None, true, "s")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn paths_may_not_escape() {
        assert!(check_relative("a/b").is_ok());
        assert!(check_relative("../x").is_err());
        assert!(check_relative("/etc/passwd").is_err());
        assert!(check_relative("").is_err());
    }

    #[test]
    fn files_are_written_with_their_modes() {
        let dir = tempfile::tempdir().unwrap();
        let files = select(
            &data(),
            Some(&[item("a", "x/y", Some(0o640))]),
            None,
            false,
            "s",
        )
        .unwrap();
        write_all(dir.path(), &files).unwrap();
        let path = dir.path().join("x/y");
        assert_eq!(std::fs::read(&path).unwrap(), b"1");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
    }
}
