//! Case (f): the 10,000 files of (a) pushed through an rclone crypt remote (standard
//! names, `password2` set) over the same MinIO, by Ferry and by rclone with the same
//! crypt section: names encrypted, contents sealed in 64 KiB blocks, on both sides.

use std::path::Path;

use super::measure::{self, Sample, Tool};
use super::s3support::{self, minio::Minio};

/// Adds the `[secret]` crypt section over `minio:<bucket>/crypt` to `conf`, builds the
/// tree and runs every tool through it.
pub fn case(
    minio: &Minio,
    conf: &Path,
    bucket: &str,
    tools: &[Tool],
    work: &Path,
    rows: &mut Vec<(String, Vec<Sample>)>,
) {
    let obscure = |p: &str| {
        let out = std::process::Command::new(s3support::rclone_bin())
            .args(["obscure", p])
            .output()
            .unwrap();
        assert!(out.status.success(), "rclone obscure failed");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let mut text = std::fs::read_to_string(conf).unwrap();
    text.push_str(&format!(
        "\n[secret]\ntype = crypt\nremote = minio:{bucket}/crypt\npassword = {}\npassword2 = {}\nfilename_encryption = standard\n",
        obscure("bench password"),
        obscure("bench salt")
    ));
    std::fs::write(conf, text).unwrap();
    let src = work.join("crypt-src");
    super::build_small(&src, 10_000, 64 * 1024);
    let samples: Vec<Sample> = tools
        .iter()
        .map(|tool| {
            measure::run(
                *tool,
                minio,
                conf,
                &src,
                &format!("secret:{}-f", tool.slug()),
            )
        })
        .collect();
    measure::print_case(
        "(f) 10,000 files of 1-64 KiB through crypt (standard names, password2), initial push",
        &samples,
    );
    rows.push(("f".to_owned(), samples));
    let _ = std::fs::remove_dir_all(&src);
}
