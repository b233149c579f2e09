//! The S3 object store (`s3://bucket/prefix`), through the official AWS
//! SDK: write-once objects under a key prefix.
//!
//! - Every write carries its SHA-256 (`x-amz-checksum-sha256`), which S3
//!   checks against the bytes it received; reads ask for the checksum back
//!   and the SDK verifies it (whole-object checksums; for multipart objects
//!   S3 only keeps per-part checksums, verified at upload).
//! - Every write is conditional (`If-None-Match: *`, also on the completion
//!   of a multipart upload): an existing object is never overwritten, the
//!   write fails with [`ErrorKind::AlreadyExists`] instead.
//! - Objects above [`S3Options::multipart_threshold`] go up in parts.
//! - Object Lock per object when configured (mode and retention).
//! - Throttling, 5xx and timeouts are retried by the SDK's standard retry
//!   strategy (exponential backoff with jitter); access and not-found
//!   errors fail at once, naming the bucket, the key and the permission.
//!
//! The [`ObjectStore`] trait is synchronous; this store runs the SDK on its
//! own small tokio runtime and blocks on it.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart, ObjectLockMode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use super::{
    LocalCopy, ObjectMeta, ObjectStore, ObjectVersion, beyond_end, check_range, tempfile_guard::TempGuard, validate_key,
};
use crate::aws::{self, AwsTarget, IoRuntime};
use crate::error::{Error, ErrorKind, Result};

/// Where a store is: `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix, without leading or trailing `/` (may be empty).
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://bucket` or `s3://bucket/prefix/...`.
    pub fn parse(url: &str) -> Result<S3Location> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("store {url:?}: {why} (expected s3://bucket or s3://bucket/prefix)"),
            )
        };
        let rest = url.strip_prefix("s3://").ok_or_else(|| bad("not an s3:// URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(bad("the bucket name must be 3-63 lowercase letters, digits, '-' or '.'"));
        }
        let prefix = prefix.trim_matches('/').to_owned();
        if !prefix.is_empty() {
            validate_key(&prefix)
                .map_err(|_| bad("the prefix has an empty segment or characters other than [A-Za-z0-9._=-/]"))?;
        }
        Ok(S3Location { bucket: bucket.to_owned(), prefix })
    }

    fn object_key(&self, key: &str) -> String {
        if self.prefix.is_empty() { key.to_owned() } else { format!("{}/{key}", self.prefix) }
    }
}

/// Object Lock retention applied to every object written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectLock {
    /// Compliance (nobody can shorten or delete) or governance (principals
    /// with `s3:BypassGovernanceRetention` can).
    pub mode: LockMode,
    /// Days from the write.
    pub retain_days: u32,
}

/// Object Lock modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// `COMPLIANCE`.
    Compliance,
    /// `GOVERNANCE`.
    Governance,
}

/// How to reach S3.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// An endpoint other than AWS's (also taken from `AWS_ENDPOINT_URL_S3`
    /// or `AWS_ENDPOINT_URL` by the SDK when unset here).
    pub endpoint: Option<String>,
    /// The region (else the SDK's provider chain: `AWS_REGION`, profile…).
    pub region: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), for S3-compatible
    /// servers without virtual-host buckets. Default: on exactly when an
    /// endpoint other than AWS's is configured (here or in the environment).
    pub path_style: Option<bool>,
    /// Object Lock retention for every object written.
    pub object_lock: Option<ObjectLock>,
    /// Objects larger than this are uploaded in parts.
    pub multipart_threshold: usize,
    /// The size of each part.
    pub part_size: usize,
    /// Attempts per request (the first included) on retryable errors.
    pub max_attempts: u32,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            endpoint: None,
            region: None,
            path_style: None,
            object_lock: None,
            multipart_threshold: 64 << 20,
            part_size: 16 << 20,
            max_attempts: 8,
        }
    }
}

/// An S3 bucket and prefix as an [`ObjectStore`].
pub struct S3Store {
    client: Client,
    location: S3Location,
    options: S3Options,
    endpoint: String,
    runtime: Arc<IoRuntime>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl S3Store {
    /// Connects to the store at `location` with the SDK's standard
    /// provider chains for credentials and region (no request is made yet).
    pub fn open(location: S3Location, options: S3Options) -> Result<S3Store> {
        S3Store::open_with(location, options, |loader| loader)
    }

    /// As [`S3Store::open`], with the SDK's configuration loader adjusted
    /// by `customize` (for example explicit credentials).
    pub fn open_with(
        location: S3Location,
        options: S3Options,
        customize: impl FnOnce(aws_config::ConfigLoader) -> aws_config::ConfigLoader,
    ) -> Result<S3Store> {
        let target = AwsTarget {
            endpoint: options.endpoint.clone(),
            region: options.region.clone(),
            max_attempts: options.max_attempts,
        };
        let (runtime, sdk) = aws::load("s3-io", &target, customize)?;
        if sdk.region().is_none() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("no AWS region for s3://{}: set AWS_REGION or the store's region", location.bucket),
            ));
        }
        let custom_endpoint = aws::custom_endpoint(&sdk, "AWS_ENDPOINT_URL_S3");
        let path_style = options.path_style.unwrap_or(custom_endpoint.is_some());
        let endpoint = custom_endpoint.unwrap_or_else(|| "AWS".to_owned());
        let config = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(path_style).build();
        Ok(S3Store { client: Client::from_conf(config), location, options, endpoint, runtime: Arc::new(runtime) })
    }

    fn full_key(&self, key: &str) -> Result<String> {
        validate_key(key)?;
        Ok(self.location.object_key(key))
    }

    /// Turns an SDK error into ours, naming what was attempted.
    fn error<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
        &self,
        err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
        action: &str,
        permission: &str,
        key: &str,
    ) -> Error {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.code().unwrap_or("").to_owned();
        let what = format!("{action} s3://{}/{key}", self.location.bucket);
        let detail = match err.message() {
            Some(m) if !code.is_empty() => format!("{code}: {m}"),
            Some(m) => m.to_owned(),
            None if !code.is_empty() => code.clone(),
            None => aws_sdk_s3::error::DisplayErrorContext(&err).to_string(),
        };
        let (kind, hint) = match (status, code.as_str()) {
            (_, "NoSuchBucket") => (
                ErrorKind::NotFound,
                format!(
                    " (the bucket {} does not exist at {}: create it, with Object Lock, or fix the store URL)",
                    self.location.bucket, self.endpoint
                ),
            ),
            (Some(404), _) | (_, "NoSuchKey" | "NotFound") => (ErrorKind::NotFound, String::new()),
            (Some(412), _) | (_, "PreconditionFailed") => {
                (ErrorKind::AlreadyExists, " (the object exists; objects are never overwritten)".into())
            }
            (Some(401 | 403), _) | (_, "AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch") => (
                ErrorKind::Unauthorized,
                format!(" (the credentials need {permission} on arn:aws:s3:::{}/*)", self.location.bucket),
            ),
            (_, "BadDigest" | "InvalidDigest" | "XAmzContentSHA256Mismatch") => {
                (ErrorKind::Integrity, " (S3 received other bytes than were sent)".into())
            }
            (Some(416), _) | (_, "InvalidRange") => {
                (ErrorKind::InvalidInput, " (the byte range starts past the object's end)".into())
            }
            _ => (ErrorKind::Io, String::new()),
        };
        Error::new(kind, format!("{what}: {detail}{hint}"))
    }

    fn retention(&self) -> Option<(ObjectLockMode, DateTime)> {
        self.options.object_lock.map(|lock| {
            let mode = match lock.mode {
                LockMode::Compliance => ObjectLockMode::Compliance,
                LockMode::Governance => ObjectLockMode::Governance,
            };
            let until = std::time::SystemTime::now() + Duration::from_secs(u64::from(lock.retain_days) * 86_400);
            (mode, DateTime::from(until))
        })
    }

    async fn put_single(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let mut request = self
            .client
            .put_object()
            .bucket(&self.location.bucket)
            .key(key)
            .if_none_match("*")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(BASE64.encode(Sha256::digest(bytes)))
            .body(ByteStream::from(bytes.to_vec()));
        if let Some((mode, until)) = self.retention() {
            request = request.object_lock_mode(mode).object_lock_retain_until_date(until);
        }
        request.send().await.map_err(|e| self.error(e, "writing", "s3:PutObject", key))?;
        Ok(())
    }

    async fn put_multipart(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let mut create = self
            .client
            .create_multipart_upload()
            .bucket(&self.location.bucket)
            .key(key)
            .checksum_algorithm(ChecksumAlgorithm::Sha256);
        if let Some((mode, until)) = self.retention() {
            create = create.object_lock_mode(mode).object_lock_retain_until_date(until);
        }
        let upload =
            create.send().await.map_err(|e| self.error(e, "starting a multipart upload of", "s3:PutObject", key))?;
        let upload_id = upload.upload_id().unwrap_or_default().to_owned();
        let result = self.upload_parts(key, &upload_id, bytes).await;
        if result.is_err() {
            // Best effort: an unfinished upload holds storage until aborted
            // (a bucket lifecycle rule should also clean these up).
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.location.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }

    async fn upload_parts(&self, key: &str, upload_id: &str, bytes: &[u8]) -> Result<()> {
        let mut parts = Vec::new();
        for (i, chunk) in bytes.chunks(self.options.part_size.max(5 << 20)).enumerate() {
            let number = i32::try_from(i + 1).map_err(|_| Error::new(ErrorKind::InvalidInput, "too many parts"))?;
            let checksum = BASE64.encode(Sha256::digest(chunk));
            let part = self
                .client
                .upload_part()
                .bucket(&self.location.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .checksum_sha256(&checksum)
                .body(ByteStream::from(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| self.error(e, &format!("uploading part {number} of"), "s3:PutObject", key))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(part.e_tag().map(str::to_owned))
                    .checksum_sha256(checksum)
                    .build(),
            );
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.location.bucket)
            .key(key)
            .upload_id(upload_id)
            .if_none_match("*")
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|e| self.error(e, "completing the upload of", "s3:PutObject", key))?;
        Ok(())
    }

    /// The size of `key` (HeadObject).
    fn size_of(&self, key: &str) -> Result<u64> {
        let full = self.full_key(key)?;
        let out = self
            .runtime
            .block_on(self.client.head_object().bucket(&self.location.bucket).key(&full).send())
            .map_err(|e| self.error(e, "reading", "s3:GetObject", &full))?;
        Ok(u64::try_from(out.content_length().unwrap_or(0)).unwrap_or(0))
    }

    async fn get_stream(&self, key: &str) -> Result<ByteStream> {
        let out = self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|e| self.error(e, "reading", "s3:GetObject", key))?;
        Ok(out.body)
    }

    async fn list_async(&self, prefix: &str, start_after: Option<&str>) -> Result<Vec<ObjectMeta>> {
        let strip = if self.location.prefix.is_empty() { 0 } else { self.location.prefix.len() + 1 };
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = self
                .client
                .list_objects_v2()
                .bucket(&self.location.bucket)
                .prefix(self.location.object_key(prefix))
                .set_continuation_token(token.clone());
            if let Some(after) = start_after {
                request = request.start_after(self.location.object_key(after));
            }
            let page = request.send().await.map_err(|e| self.error(e, "listing", "s3:ListBucket", prefix))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let size = u64::try_from(object.size().unwrap_or(0)).unwrap_or(0);
                out.push(ObjectMeta { key: key[strip.min(key.len())..].to_owned(), size });
            }
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        // S3 lists in UTF-8 binary order, which is byte order: sorted already
        // for our ASCII keys; sort anyway so that the contract never rests on
        // a server's behaviour.
        out.sort();
        Ok(out)
    }
}

impl S3Store {
    async fn list_versions_async(&self, prefix: &str) -> Result<Vec<ObjectVersion>> {
        let strip = if self.location.prefix.is_empty() { 0 } else { self.location.prefix.len() + 1 };
        let relative = |key: &str| key[strip.min(key.len())..].to_owned();
        let mut out = Vec::new();
        let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.location.bucket)
                .prefix(self.location.object_key(prefix))
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await
                .map_err(|e| self.error(e, "listing the versions of", "s3:ListBucketVersions", prefix))?;
            for v in page.versions() {
                out.push(ObjectVersion {
                    key: relative(v.key().unwrap_or_default()),
                    version_id: v.version_id().unwrap_or("null").to_owned(),
                    delete_marker: false,
                    latest: v.is_latest().unwrap_or(false),
                    size: u64::try_from(v.size().unwrap_or(0)).unwrap_or(0),
                });
            }
            for m in page.delete_markers() {
                out.push(ObjectVersion {
                    key: relative(m.key().unwrap_or_default()),
                    version_id: m.version_id().unwrap_or("null").to_owned(),
                    delete_marker: true,
                    latest: m.is_latest().unwrap_or(false),
                    size: 0,
                });
            }
            if !page.is_truncated().unwrap_or(false) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
            if key_marker.is_none() {
                break;
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

impl ObjectStore for S3Store {
    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let key = self.full_key(key)?;
        if bytes.len() > self.options.multipart_threshold {
            self.runtime.block_on(self.put_multipart(&key, bytes))
        } else {
            self.runtime.block_on(self.put_single(&key, bytes))
        }
    }

    fn get(&self, key: &str) -> Result<Vec<u8>> {
        let key = self.full_key(key)?;
        self.runtime.block_on(async {
            let body = self.get_stream(&key).await?;
            let data = body
                .collect()
                .await
                .map_err(|e| Error::new(ErrorKind::Io, format!("reading s3://{}/{key}: {e}", self.location.bucket)))?;
            Ok(data.into_bytes().to_vec())
        })
    }

    fn open(&self, key: &str) -> Result<Box<dyn Read + Send>> {
        let key = self.full_key(key)?;
        let body = self.runtime.block_on(self.get_stream(&key))?;
        Ok(Box::new(BodyReader {
            body,
            pending: bytes::Bytes::new(),
            runtime: Arc::clone(&self.runtime),
            what: format!("s3://{}/{key}", self.location.bucket),
        }))
    }

    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Vec<u8>> {
        check_range(key, &range)?;
        if range.is_empty() {
            // HTTP has no empty byte range; check that the object is there
            // and long enough.
            let size = self.size_of(key)?;
            return if range.end > size { Err(beyond_end(key, &range, size)) } else { Ok(Vec::new()) };
        }
        let full = self.full_key(key)?;
        self.runtime.block_on(async {
            let out = self
                .client
                .get_object()
                .bucket(&self.location.bucket)
                .key(&full)
                .range(format!("bytes={}-{}", range.start, range.end - 1))
                .send()
                .await
                .map_err(|e| self.error(e, "reading", "s3:GetObject", &full))?;
            let size =
                out.content_range().and_then(|r| r.rsplit_once('/')).and_then(|(_, total)| total.parse::<u64>().ok());
            let data = out.body.collect().await.map_err(|e| {
                Error::new(ErrorKind::Io, format!("reading {range:?} of s3://{}/{full}: {e}", self.location.bucket))
            })?;
            let bytes = data.into_bytes().to_vec();
            // S3 answers a range past the end with the bytes it has.
            if bytes.len() as u64 != range.end - range.start {
                return Err(beyond_end(key, &range, size.unwrap_or(range.start + bytes.len() as u64)));
            }
            Ok(bytes)
        })
    }

    fn local_copy(&self, key: &str) -> Result<LocalCopy> {
        let mut reader = self.open(key)?;
        let path = std::env::temp_dir().join(format!("logseal-s3-{:016x}", rand::random::<u64>()));
        let guard = TempGuard(path.clone());
        let mut file = std::fs::File::create(&path).map_err(|e| Error::io(path.display(), &e))?;
        std::io::copy(&mut reader, &mut file)
            .map_err(|e| Error::io(format!("downloading {key} to {}", path.display()), &e))?;
        Ok(LocalCopy { path, _temp: Some(guard) })
    }

    fn list(&self, prefix: &str, start_after: Option<&str>) -> Result<Vec<ObjectMeta>> {
        self.runtime.block_on(self.list_async(prefix, start_after))
    }

    fn list_versions(&self, prefix: &str) -> Result<Option<Vec<ObjectVersion>>> {
        self.runtime.block_on(self.list_versions_async(prefix)).map(Some)
    }

    fn describe(&self) -> String {
        let prefix = if self.location.prefix.is_empty() { String::new() } else { format!("/{}", self.location.prefix) };
        format!("S3 store s3://{}{prefix} at {}", self.location.bucket, self.endpoint)
    }
}

/// Reads an object's body as it arrives.
struct BodyReader {
    body: ByteStream,
    pending: bytes::Bytes,
    runtime: Arc<IoRuntime>,
    what: String,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pending.is_empty() {
            match self.runtime.block_on(self.body.next()) {
                Some(Ok(chunk)) => self.pending = chunk,
                Some(Err(e)) => return Err(std::io::Error::other(format!("reading {}: {e}", self.what))),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn async_code_may_drop_the_last_handle_of_a_store() {
        let options = S3Options {
            endpoint: Some("http://127.0.0.1:9".into()),
            region: Some("us-east-1".into()),
            ..S3Options::default()
        };
        let store = S3Store::open(S3Location::parse("s3://bucket/prefix").unwrap(), options).unwrap();
        let agent = tokio::runtime::Builder::new_current_thread().build().unwrap();
        agent.block_on(async move { drop(store) });
    }

    #[test]
    fn store_urls_parse_or_say_what_is_wrong() {
        assert_eq!(
            S3Location::parse("s3://logs-bucket/a/b/").unwrap(),
            S3Location { bucket: "logs-bucket".into(), prefix: "a/b".into() }
        );
        assert_eq!(S3Location::parse("s3://logs-bucket").unwrap().prefix, "");
        for bad in ["logs-bucket", "s3://", "s3://Up", "s3://ab", "s3://b_b/x", "s3://bucket/a//b", "s3://bucket/a b"] {
            let err = S3Location::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
            assert!(err.to_string().contains("expected s3://bucket"), "{err}");
        }
    }
}
