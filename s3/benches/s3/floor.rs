//! The floor: the least any client on this aws-sdk-s3 setup must do to store the same
//! objects. It builds its client with the engine's own [`ferry_s3::client::build`] from the
//! same rclone.conf, and issues the same PUTs (small files: one unsigned-payload
//! PutObject each; large files: CreateMultipartUpload, parts of the engine's default size
//! with signed payloads, CompleteMultipartUpload) with nothing else: no listing of the
//! remote, no hashing, no metadata, no manifest, no change checks, no retries of its own.
//! It runs as a child process of the bench (`s3 floor CONF SRC BUCKET PREFIX N`) so
//! `/usr/bin/time` measures it as it measures the tools; N is the number of requests in
//! flight, which the bench searches for the fastest.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream;

/// Runs the floor client if this process was started as one (`s3 floor ...`); returns
/// whether it was.
pub fn child() -> bool {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some("floor") {
        return false;
    }
    let [conf, src, bucket, prefix, n] = &args[2..] else {
        panic!("usage: s3 floor CONF SRC BUCKET PREFIX CONCURRENCY");
    };
    let n: usize = n.parse().expect("CONCURRENCY");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(push(
        Path::new(conf),
        Path::new(src),
        bucket,
        prefix.trim_end_matches('/'),
        n,
    ));
    true
}

/// One local file to store.
struct File {
    key: String,
    path: PathBuf,
    size: u64,
}

async fn push(conf: &Path, src: &Path, bucket: &str, prefix: &str, n: usize) {
    let config = ferry_s3::config::rclone::load_section(conf, "minio")
        .unwrap()
        .s3;
    let client = ferry_s3::client::build(&config, std::sync::Arc::default())
        .await
        .unwrap();
    let mut files = Vec::new();
    walk(src, src, prefix, &mut files);
    let tuning = ferry_s3::options::UploadTuning::default();
    let (large, small): (Vec<File>, Vec<File>) =
        files.into_iter().partition(|f| f.size > tuning.cutoff);
    stream::iter(small)
        .for_each_concurrent(n, |f| {
            let (client, bucket) = (client.clone(), bucket.to_owned());
            async move {
                let body = tokio::task::spawn_blocking(move || std::fs::read(&f.path).unwrap())
                    .await
                    .unwrap();
                client
                    .put_object()
                    .bucket(bucket)
                    .key(f.key)
                    .content_length(body.len() as i64)
                    .body(ByteStream::from(body))
                    .customize()
                    .disable_payload_signing()
                    .send()
                    .await
                    .unwrap();
            }
        })
        .await;
    if !large.is_empty() {
        multipart(&client, bucket, large, tuning.part_size, n).await;
    }
}

/// Every part of every large file in one stream, `n` in flight.
async fn multipart(client: &Client, bucket: &str, large: Vec<File>, part: u64, n: usize) {
    let mut uploads = Vec::new();
    for f in &large {
        let created = client
            .create_multipart_upload()
            .bucket(bucket)
            .key(&f.key)
            .send()
            .await
            .unwrap();
        uploads.push(created.upload_id.unwrap());
    }
    let mut jobs = Vec::new();
    for (i, f) in large.iter().enumerate() {
        let file = Arc::new(std::fs::File::open(&f.path).unwrap());
        for (index, offset) in (0..f.size).step_by(part as usize).enumerate() {
            let len = part.min(f.size - offset);
            jobs.push((i, Arc::clone(&file), index as i32 + 1, offset, len));
        }
    }
    let done: Vec<(usize, CompletedPart)> = stream::iter(jobs)
        .map(|(i, file, number, offset, len)| {
            let (client, bucket, key, id) = (
                client.clone(),
                bucket.to_owned(),
                large[i].key.clone(),
                uploads[i].clone(),
            );
            async move {
                let body = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; len as usize];
                    file.read_exact_at(&mut buf, offset).unwrap();
                    Bytes::from(buf)
                })
                .await
                .unwrap();
                let out = client
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(id)
                    .part_number(number)
                    .content_length(body.len() as i64)
                    .body(ByteStream::from(body))
                    .send()
                    .await
                    .unwrap();
                let part = CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag)
                    .build();
                (i, part)
            }
        })
        .buffer_unordered(n)
        .collect()
        .await;
    for (i, f) in large.iter().enumerate() {
        let mut parts: Vec<CompletedPart> = done
            .iter()
            .filter(|(j, _)| *j == i)
            .map(|(_, p)| p.clone())
            .collect();
        parts.sort_by_key(|p| p.part_number);
        client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(&f.key)
            .upload_id(&uploads[i])
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
}

/// The regular files below `dir`, keyed as the engine keys them.
fn walk(root: &Path, dir: &Path, prefix: &str, out: &mut Vec<File>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        let path = entry.path();
        if kind.is_dir() {
            walk(root, &path, prefix, out);
        } else if kind.is_file() {
            let rel = path.strip_prefix(root).unwrap().to_string_lossy();
            out.push(File {
                key: format!("{prefix}/{rel}"),
                size: entry.metadata().unwrap().len(),
                path,
            });
        }
    }
}
