//! A `type = crypt` section of an rclone.conf, typed. The rclone.conf parser (in the S3
//! engine) hands over the section's lines; this checks every key and value and says, for
//! anything wrong, which setting and what to write instead.

use crate::keys::Keys;
use crate::names::{NameEncoding, NameMode};
use crate::obscure::{self, RevealError, Secret};
use crate::{Cipher, Error, Result};

/// One `key = value` line of the section, as the rclone.conf parser read it.
#[derive(Clone, Copy, Debug)]
pub struct Setting<'a> {
    /// The key.
    pub key: &'a str,
    /// The value, trimmed and unquoted.
    pub value: &'a str,
    /// The 1-based line in the file, when known.
    pub line: Option<usize>,
}

/// The keys a crypt section may hold, for error messages.
const KEYS: &[&str] = &[
    "type",
    "remote",
    "password",
    "password2",
    "filename_encryption",
    "directory_name_encryption",
    "filename_encoding",
    "suffix",
    "no_data_encryption",
    "strict_names",
    "pass_bad_blocks",
    "server_side_across_configs",
    "show_mapping",
    "description",
];

/// rclone crypt keys that change nothing for Ferry: accepted with a warning.
const IGNORED: &[&str] = &["server_side_across_configs", "show_mapping", "description"];

/// A crypt section's settings. `Debug` never shows the passwords.
#[derive(Clone, Debug)]
pub struct CryptConfig {
    /// The section name (`[secret]` gives `secret`), for messages.
    pub section: String,
    /// `remote`: what the crypt remote wraps, as rclone writes it (`<s3 section>:<bucket>/
    /// <path>` for Ferry). Parse it with the S3 engine's `Location::parse`, the one
    /// implementation of rclone's remote syntax; checked here only for what a crypt
    /// section cannot mean (itself, options in the name, an empty value).
    pub remote: String,
    password: Secret,
    password2: Option<Secret>,
    /// `filename_encryption`, `filename_encoding` and `suffix`.
    pub names: NameMode,
    /// `directory_name_encryption` (true by default).
    pub directory_name_encryption: bool,
    /// False when `no_data_encryption = true`: contents are stored as they are.
    pub data_encryption: bool,
    /// `strict_names`: a stored name that does not decrypt is an error rather than
    /// skipped with a warning.
    pub strict_names: bool,
}

impl CryptConfig {
    /// Reads the settings of section `section` of the rclone.conf `file` (the path, for
    /// messages). Returns the config and warnings about keys Ferry accepts but ignores.
    pub fn from_section<'a>(
        section: &str,
        file: &str,
        settings: impl IntoIterator<Item = Setting<'a>>,
    ) -> Result<(Self, Vec<String>)> {
        let at = |s: &Setting<'_>| match s.line {
            Some(line) => format!("{} in [{section}] of {file} (line {line})", s.key),
            None => format!("{} in [{section}] of {file}", s.key),
        };
        let missing = |key: &str| format!("{key} in [{section}] of {file}");
        let mut warnings = Vec::new();
        let (mut kind, mut remote, mut password, mut password2) = (None, None, None, None);
        let mut filename_encryption = None;
        let mut encoding_setting = None;
        let mut suffix = String::from(".bin");
        let mut directory_name_encryption = true;
        let mut data_encryption = true;
        let mut strict_names = false;
        for s in settings {
            match s.key {
                "type" => kind = Some(s),
                "remote" => remote = Some(parse_remote(section, &s, &at)?),
                "password" => password = Some(s),
                "password2" => password2 = Some(s),
                "filename_encryption" => filename_encryption = Some(s),
                "filename_encoding" => encoding_setting = Some(s),
                "suffix" => {
                    suffix = if s.value.eq_ignore_ascii_case("none") {
                        String::new()
                    } else {
                        s.value.to_owned()
                    }
                }
                "directory_name_encryption" => {
                    directory_name_encryption = boolean(&s, true, &at)?;
                }
                "no_data_encryption" => data_encryption = !boolean(&s, false, &at)?,
                "strict_names" => strict_names = boolean(&s, false, &at)?,
                "pass_bad_blocks" => {
                    if boolean(&s, false, &at)? {
                        return Err(Error::Config {
                            setting: at(&s),
                            problem: "is true, and Ferry never writes a block that fails \
                                      authentication as zeroes"
                                .into(),
                            fix: "remove it (or set it to false); recover such objects with \
                                  rclone itself"
                                .into(),
                        });
                    }
                }
                key if IGNORED.contains(&key) => {
                    warnings.push(format!("{}: ignored, Ferry does not use it", at(&s)));
                }
                _ => {
                    return Err(Error::Config {
                        setting: at(&s),
                        problem: "is not a crypt option".into(),
                        fix: format!("remove it; a crypt section takes {}", KEYS.join(", ")),
                    });
                }
            }
        }
        match kind {
            Some(s) if s.value != "crypt" => {
                return Err(Error::Config {
                    setting: at(&s),
                    problem: format!("is \"{}\", not crypt", s.value),
                    fix: "write type = crypt".into(),
                });
            }
            Some(_) => {}
            None => {
                return Err(Error::Config {
                    setting: missing("type"),
                    problem: "is missing".into(),
                    fix: "add type = crypt".into(),
                });
            }
        }
        let remote = remote.ok_or_else(|| Error::Config {
            setting: missing("remote"),
            problem: "is missing".into(),
            fix: "add remote = <s3 section>:<bucket>/<path>".into(),
        })?;
        let password = match password {
            Some(s) if !s.value.is_empty() => {
                let revealed = reveal(&s, &at)?;
                if revealed.is_empty() {
                    // rclone would derive all-zero keys from it: no protection at all.
                    return Err(Error::Config {
                        setting: at(&s),
                        problem: "is an obscured empty password".into(),
                        fix: "set it to the output of `rclone obscure` for a real password".into(),
                    });
                }
                revealed
            }
            _ => {
                return Err(Error::Config {
                    setting: missing("password"),
                    problem: "is not set".into(),
                    fix: "set it to the output of `rclone obscure` for the crypt password".into(),
                });
            }
        };
        let password2 = match password2 {
            Some(s) if !s.value.is_empty() => Some(reveal(&s, &at)?),
            _ => None,
        };
        // As in rclone, the encoding is checked whatever the mode.
        let encoding = match encoding_setting {
            Some(s) => parse_encoding(&s, &at)?,
            None => NameEncoding::Base32,
        };
        let standard = || Ok::<_, Error>(NameMode::Standard { encoding });
        let names = match filename_encryption {
            None => standard()?,
            Some(s) => match s.value.to_ascii_lowercase().as_str() {
                "standard" => standard()?,
                "obfuscate" => NameMode::Obfuscate,
                "off" => NameMode::Off { suffix },
                _ => {
                    return Err(Error::Config {
                        setting: at(&s),
                        problem: format!("\"{}\" is not a name encryption mode", s.value),
                        fix: "use standard, obfuscate or off".into(),
                    });
                }
            },
        };
        Ok((
            Self {
                section: section.to_owned(),
                remote,
                password,
                password2,
                names,
                directory_name_encryption,
                data_encryption,
                strict_names,
            },
            warnings,
        ))
    }

    /// Derives the keys (scrypt: tens of milliseconds) and builds the cipher.
    pub fn cipher(&self) -> Result<Cipher> {
        let keys = Keys::derive(
            self.password.expose(),
            self.password2.as_ref().map(Secret::expose),
        )?;
        Ok(Cipher::new(
            &keys,
            self.names.clone(),
            self.directory_name_encryption,
            self.data_encryption,
        ))
    }
}

fn reveal(s: &Setting<'_>, at: &dyn Fn(&Setting<'_>) -> String) -> Result<Secret> {
    obscure::reveal(s.value).map_err(|e| Error::Config {
        setting: at(s),
        problem: format!(
            "is not in rclone's obscured form ({})",
            match e {
                RevealError::NotBase64 => "not URL-safe base64",
                RevealError::TooShort => "too short",
            }
        ),
        fix: "run `rclone obscure` on the password and write its output here".into(),
    })
}

fn parse_remote(
    section: &str,
    s: &Setting<'_>,
    at: &dyn Fn(&Setting<'_>) -> String,
) -> Result<String> {
    let bad = |problem: String, fix: &str| Error::Config {
        setting: at(s),
        problem,
        fix: fix.into(),
    };
    let value = s.value;
    if value.is_empty() {
        return Err(bad(
            "is empty".into(),
            "set it to <s3 section>:<bucket>/<path>",
        ));
    }
    if value.starts_with(':') {
        return Err(bad(
            format!("\"{value}\" is an on-the-fly remote"),
            "name an S3 section of the same file instead: <s3 section>:<bucket>/<path>",
        ));
    }
    match value.split_once(':') {
        Some((name, _)) if name.contains(',') => Err(bad(
            format!("\"{value}\" overrides options in the remote name"),
            "write the options in the S3 section and name it plainly",
        )),
        Some((name, _)) if name == section => Err(bad(
            "points the crypt remote at itself".into(),
            "set it to the S3 section the crypt remote wraps",
        )),
        _ => Ok(value.to_owned()),
    }
}

fn parse_encoding(s: &Setting<'_>, at: &dyn Fn(&Setting<'_>) -> String) -> Result<NameEncoding> {
    match s.value.to_ascii_lowercase().as_str() {
        "base32" | "" => Ok(NameEncoding::Base32),
        "base64" => Ok(NameEncoding::Base64),
        "base32768" => Ok(NameEncoding::Base32768),
        _ => Err(Error::Config {
            setting: at(s),
            problem: format!("\"{}\" is not a name encoding", s.value),
            fix: "use base32 (the default), base64 or base32768".into(),
        }),
    }
}

/// rclone's booleans (Go's `strconv.ParseBool`); empty means the default.
fn boolean(s: &Setting<'_>, default: bool, at: &dyn Fn(&Setting<'_>) -> String) -> Result<bool> {
    match s.value {
        "" => Ok(default),
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        other => Err(Error::Config {
            setting: at(s),
            problem: format!("\"{other}\" is not a boolean"),
            fix: "use true or false".into(),
        }),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
