//! Direct S3 access for assertions: create buckets, list what is stored, read objects,
//! with the test's own aws-sdk-s3 client (not the engine under test).

use std::collections::BTreeMap;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

use super::minio::Minio;

/// An object as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub size: i64,
    pub etag: String,
    pub last_modified: String,
}

/// A client for `endpoint` with MinIO's keys.
pub fn client(minio: &Minio, endpoint: &str) -> Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            &minio.access,
            &minio.secret,
            None,
            None,
            "test",
        ))
        .build();
    Client::from_conf(config)
}

/// A new bucket with a unique name starting with `prefix`.
pub async fn create(client: &Client, prefix: &str) -> String {
    let name = format!("{prefix}-{:08x}", rand::random::<u32>());
    client.create_bucket().bucket(&name).send().await.unwrap();
    name
}

/// Every object below `prefix` but directory markers: the files (key → size, ETag,
/// LastModified).
pub async fn list(client: &Client, bucket: &str, prefix: &str) -> BTreeMap<String, Listed> {
    let mut all = list_all(client, bucket, prefix).await;
    all.retain(|key, _| !key.ends_with('/'));
    all
}

/// The directory markers below `prefix` (zero-byte objects whose key ends in `/`).
pub async fn markers(client: &Client, bucket: &str, prefix: &str) -> BTreeMap<String, Listed> {
    let mut all = list_all(client, bucket, prefix).await;
    all.retain(|key, listed| key.ends_with('/') && listed.size == 0);
    all
}

/// The incomplete multipart uploads below `prefix`: (key, upload id).
pub async fn uploads(client: &Client, bucket: &str, prefix: &str) -> Vec<(String, String)> {
    let out = client
        .list_multipart_uploads()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    out.uploads()
        .iter()
        .map(|u| {
            (
                u.key().unwrap_or_default().to_owned(),
                u.upload_id().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Every object below `prefix` (key → size, ETag, LastModified).
pub async fn list_all(client: &Client, bucket: &str, prefix: &str) -> BTreeMap<String, Listed> {
    let mut out = BTreeMap::new();
    let mut token = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .unwrap();
        for o in page.contents.unwrap_or_default() {
            out.insert(
                o.key.unwrap(),
                Listed {
                    size: o.size.unwrap_or(0),
                    etag: o.e_tag.unwrap_or_default(),
                    last_modified: o.last_modified.map(|t| t.to_string()).unwrap_or_default(),
                },
            );
        }
        match page.next_continuation_token {
            Some(t) if page.is_truncated == Some(true) => token = Some(t),
            _ => break,
        }
    }
    out
}

/// An object's user metadata and body.
pub async fn get(
    client: &Client,
    bucket: &str,
    key: &str,
) -> (std::collections::HashMap<String, String>, Vec<u8>, String) {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let meta = out.metadata.clone().unwrap_or_default();
    let etag = out.e_tag.clone().unwrap_or_default();
    let body = out.body.collect().await.unwrap().into_bytes().to_vec();
    (meta, body, etag)
}
