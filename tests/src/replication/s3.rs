//! The test cluster's MinIO as a test sees it: buckets made for one test, objects put there
//! before a sync (to prove a failed sync deletes nothing), and listings to check what a
//! sync wrote. Also the rclone.conf a Secret gives the sidecar for this MinIO.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;

use crate::cluster::Cluster;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The rclone remote name the tests' rclone.conf defines.
pub const SECTION: &str = "minio";

/// A client for the cluster's MinIO, as its root user.
#[derive(Clone, Debug)]
pub struct Minio {
    /// The SDK client.
    pub client: aws_sdk_s3::Client,
    /// `http://127.0.0.1:<port>`, where the tests reach it.
    pub endpoint: String,
    /// Where pods on the node reach it (a forward on the node IP).
    pub pod_endpoint: String,
    access_key: String,
    secret_key: String,
}

impl Minio {
    /// A client for the cluster's MinIO.
    pub fn new(cluster: &Cluster) -> anyhow::Result<Self> {
        let endpoint = cluster.var("MINIO_ENDPOINT")?.to_owned();
        let pod_endpoint = cluster.var("FERRY_NODE_MINIO_ENDPOINT")?.to_owned();
        let access_key = cluster.var("MINIO_ACCESS_KEY")?.to_owned();
        let secret_key = cluster.var("MINIO_SECRET_KEY")?.to_owned();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                &access_key,
                &secret_key,
                None,
                None,
                "ferry-e2e",
            ))
            .force_path_style(true)
            .build();
        Ok(Self {
            client: aws_sdk_s3::Client::from_conf(config),
            endpoint,
            pod_endpoint,
            access_key,
            secret_key,
        })
    }

    /// An rclone.conf with one `[minio]` section for this MinIO as pods reach it, with the
    /// real keys.
    pub fn rclone_conf(&self) -> String {
        self.rclone_conf_with(&self.access_key, &self.secret_key)
    }

    /// An rclone.conf for this MinIO as pods reach it, with the given keys (e.g. wrong ones).
    pub fn rclone_conf_with(&self, access_key: &str, secret_key: &str) -> String {
        format!(
            "[{SECTION}]\ntype = s3\nprovider = Minio\naccess_key_id = {access_key}\n\
             secret_access_key = {secret_key}\nendpoint = {}\nforce_path_style = true\n",
            self.pod_endpoint
        )
    }

    /// A bucket name no other test uses (it is not created).
    pub fn unique_bucket(prefix: &str) -> String {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = format!("e2e-{prefix}-{}-{n}", std::process::id());
        name.truncate(63);
        name.to_ascii_lowercase()
    }

    /// Creates a fresh bucket and returns its name.
    pub async fn bucket(&self, prefix: &str) -> anyhow::Result<String> {
        let name = Self::unique_bucket(prefix);
        self.client
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .with_context(|| format!("creating bucket {name}"))?;
        Ok(name)
    }

    /// Creates a fresh bucket with S3 Object Lock enabled (which makes it versioned) and
    /// returns its name.
    pub async fn locked_bucket(&self, prefix: &str) -> anyhow::Result<String> {
        let name = Self::unique_bucket(prefix);
        self.client
            .create_bucket()
            .bucket(&name)
            .object_lock_enabled_for_bucket(true)
            .send()
            .await
            .with_context(|| format!("creating bucket {name} with Object Lock"))?;
        Ok(name)
    }

    /// Whether `bucket` exists.
    pub async fn bucket_exists(&self, bucket: &str) -> anyhow::Result<bool> {
        match self.client.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(false)
            }
            Err(err) => Err(err).with_context(|| format!("HeadBucket {bucket}")),
        }
    }

    /// Puts `body` at `bucket/key`.
    pub async fn put(&self, bucket: &str, key: &str, body: &[u8]) -> anyhow::Result<()> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .with_context(|| format!("putting {bucket}/{key}"))?;
        Ok(())
    }

    /// The object at `bucket/key`, or `None`.
    pub async fn get(&self, bucket: &str, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.body.collect().await?.into_bytes().to_vec())),
            Err(err)
                if err
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(None)
            }
            Err(err) => Err(err).with_context(|| format!("getting {bucket}/{key}")),
        }
    }

    /// The files below `prefix/` (keys relative to it) and their sizes: every object but
    /// the directory markers (see [`Self::markers`]).
    pub async fn list(&self, bucket: &str, prefix: &str) -> anyhow::Result<BTreeMap<String, i64>> {
        let mut all = self.list_all(bucket, prefix).await?;
        all.retain(|key, _| !key.ends_with('/'));
        Ok(all)
    }

    /// The directory markers below `prefix/`: zero-byte objects whose key (relative to it)
    /// ends in `/`.
    pub async fn markers(&self, bucket: &str, prefix: &str) -> anyhow::Result<Vec<String>> {
        let all = self.list_all(bucket, prefix).await?;
        Ok(all
            .into_iter()
            .filter(|(key, size)| key.ends_with('/') && *size == 0)
            .map(|(key, _)| key)
            .collect())
    }

    /// Every object below `prefix/` (keys relative to it) and its size.
    pub async fn list_all(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> anyhow::Result<BTreeMap<String, i64>> {
        let start = if prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", prefix.trim_end_matches('/'))
        };
        let mut out = BTreeMap::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(&start)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.with_context(|| format!("listing {bucket}/{start}"))?;
            for object in page.contents() {
                let key = object.key().unwrap_or_default();
                let rel = key.strip_prefix(&start).unwrap_or(key).to_owned();
                out.insert(rel, object.size().unwrap_or_default());
            }
        }
        Ok(out)
    }

    /// The keys of multipart uploads still open in `bucket` (a clean abort leaves none).
    pub async fn open_uploads(&self, bucket: &str) -> anyhow::Result<Vec<String>> {
        let out = self
            .client
            .list_multipart_uploads()
            .bucket(bucket)
            .send()
            .await
            .with_context(|| format!("listing multipart uploads of {bucket}"))?;
        Ok(out
            .uploads()
            .iter()
            .filter_map(|u| u.key().map(str::to_owned))
            .collect())
    }
}
