//! Pushing: blobs first (skipping what the registry has), then manifests, then the index.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures_util::stream::StreamExt as _;
use oci_client::errors::OciDistributionError;
use oci_spec::image::Descriptor;
use reqwest::header::HeaderValue;
use tokio::io::{AsyncRead, AsyncReadExt as _};

use super::client::{error_chain, is_retryable, HostClient, Registry};
use super::credentials::CredentialError;
use super::manifest::{is_image_manifest, ManifestError, Parsed, RawManifest};
use super::progress::{BlobOutcome, Direction, Progress};
use super::reference::ImageRef;
use super::verify::{Verifier, VerifyError};

/// Bytes sent per upload request (a `PATCH` chunk); also the memory one upload holds.
const UPLOAD_CHUNK: usize = 4 << 20;

/// Where pushed blobs are read from: the content store, or anything content-addressed.
pub trait BlobSource: Sync {
    /// Opens the blob for reading from its start. Called again for each retry.
    fn open(
        &self,
        blob: &Descriptor,
    ) -> impl Future<Output = io::Result<Box<dyn AsyncRead + Send + Unpin>>> + Send;
}

/// A push failed. Nothing is tagged when a blob or manifest fails: the index (or the single
/// manifest) is pushed last.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The plan is inconsistent (see [`PushPlan::index`]).
    #[error("cannot push: {0}")]
    Plan(String),
    /// The manifest or index bytes are not usable.
    #[error("cannot push: {0}")]
    Manifest(#[from] ManifestError),
    /// Credentials for the registry could not be read.
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// The target reference pins a digest that is not the pushed content's.
    #[error("cannot push to {target}: it pins {pinned}, but the image is {actual}")]
    DigestMismatch {
        /// The target.
        target: String,
        /// The digest in the target reference.
        pinned: String,
        /// The digest of what is pushed.
        actual: String,
    },
    /// A blob could not be uploaded.
    #[error("uploading blob {digest} ({size} bytes) to {target} failed{attempts}: {reason}{hint}; \
             nothing was tagged: run the push again, blobs already in the registry are skipped{skipped}",
            attempts = attempts_text(*attempts),
            skipped = not_attempted_text(*not_attempted))]
    Blob {
        /// The blob.
        digest: String,
        /// Its size.
        size: u64,
        /// Where it was pushed.
        target: String,
        /// Attempts made.
        attempts: u32,
        /// The last error, with its causes.
        reason: String,
        /// What to do about it, starting with `; `, or empty.
        hint: String,
        /// Blobs not attempted because of this failure.
        not_attempted: usize,
    },
    /// A blob could not be read from the source.
    #[error("cannot read blob {digest} ({size} bytes) from the local store: {source}")]
    SourceRead {
        /// The blob.
        digest: String,
        /// Its size.
        size: u64,
        /// The source's error.
        source: io::Error,
    },
    /// A blob read from the source does not match its descriptor; it was not committed.
    #[error(
        "blob in the local store does not match its descriptor, so it was not pushed: {0}; \
             remove it from the store and rebuild"
    )]
    SourceCorrupt(VerifyError),
    /// A manifest or the index could not be pushed.
    #[error("pushing {what} {digest} to {target} failed{attempts}: {reason}{hint}",
            attempts = attempts_text(*attempts))]
    PushManifest {
        /// `manifest` or `index`.
        what: &'static str,
        /// Its digest.
        digest: String,
        /// The reference it was pushed to.
        target: String,
        /// Attempts made.
        attempts: u32,
        /// The last error, with its causes.
        reason: String,
        /// What to do about it, starting with `; `, or empty.
        hint: String,
    },
}

fn attempts_text(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

fn not_attempted_text(count: usize) -> String {
    match count {
        0 => String::new(),
        1 => " (1 other blob was not attempted)".into(),
        n => format!(" ({n} other blobs were not attempted)"),
    }
}

/// What to push: an image manifest, or an index and all its manifests, with the blobs they
/// reference. The bytes are pushed as given, so digests stay those of the content.
#[derive(Clone, Debug)]
pub struct PushPlan {
    top: RawManifest,
    index: Option<RawManifest>,
    manifests: Vec<RawManifest>,
    blobs: Vec<Descriptor>,
    mounts: HashMap<String, ImageRef>,
}

impl PushPlan {
    /// A single-platform image: one manifest, pushed under the target's tag.
    pub fn image(manifest: RawManifest) -> Result<Self, PushError> {
        let mut plan = Self {
            top: manifest.clone(),
            index: None,
            manifests: Vec::new(),
            blobs: Vec::new(),
            mounts: HashMap::new(),
        };
        plan.add_manifest(manifest)?;
        Ok(plan)
    }

    /// A multi-platform image: `index` is pushed under the target's tag, after each of
    /// `manifests` is pushed by digest. Every image manifest the index lists must be among
    /// `manifests` and every one of `manifests` must be listed, so the index never points
    /// at content the push did not send.
    pub fn index(index: RawManifest, manifests: Vec<RawManifest>) -> Result<Self, PushError> {
        let Parsed::Index(parsed) = index.parsed() else {
            return Err(PushError::Plan(format!(
                "{} is an image manifest, not an index",
                index.digest()
            )));
        };
        let mut plan = Self {
            top: index.clone(),
            index: None,
            manifests: Vec::new(),
            blobs: Vec::new(),
            mounts: HashMap::new(),
        };
        let mut given: HashMap<String, RawManifest> = manifests
            .into_iter()
            .map(|m| (m.digest().to_owned(), m))
            .collect();
        for entry in parsed.manifests() {
            if !is_image_manifest(entry) {
                return Err(PushError::Plan(format!(
                    "index entry {} has media type {}; only image manifests can be pushed in an index",
                    entry.digest(),
                    entry.media_type()
                )));
            }
            let digest = entry.digest().to_string();
            if plan.manifests.iter().any(|m| m.digest() == digest) {
                continue;
            }
            let manifest = given.remove(&digest).ok_or_else(|| {
                PushError::Plan(format!(
                    "the index lists manifest {digest}, which was not given"
                ))
            })?;
            let manifest = RawManifest::with_descriptor(manifest.bytes().clone(), entry)?;
            plan.add_manifest(manifest)?;
        }
        if let Some(extra) = given.keys().next() {
            return Err(PushError::Plan(format!(
                "manifest {extra} was given but the index does not list it"
            )));
        }
        plan.index = Some(index);
        Ok(plan)
    }

    fn add_manifest(&mut self, manifest: RawManifest) -> Result<(), PushError> {
        let Parsed::Image(image) = manifest.parsed() else {
            return Err(PushError::Plan(format!(
                "{} is an index, not an image manifest",
                manifest.digest()
            )));
        };
        for blob in image.layers().iter().chain([image.config()]) {
            if !self.blobs.iter().any(|b| b.digest() == blob.digest()) {
                self.blobs.push(blob.clone());
            }
        }
        self.manifests.push(manifest);
        Ok(())
    }

    /// Lets the push mount `digest` from `source` (a repository of the same registry, e.g.
    /// the base image) instead of uploading it, when the target does not have it yet.
    pub fn mount_from(mut self, digest: &str, source: ImageRef) -> Self {
        self.mounts.insert(digest.to_owned(), source);
        self
    }

    /// The blobs (layers and configs) to push, each once.
    pub fn blobs(&self) -> &[Descriptor] {
        &self.blobs
    }

    /// The image manifests.
    pub fn manifests(&self) -> &[RawManifest] {
        &self.manifests
    }

    /// What the target tag will point at: the index, or the single manifest.
    pub fn top(&self) -> &RawManifest {
        &self.top
    }
}

/// What a push did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushReport {
    /// The reference pushed, pinned to the pushed digest.
    pub pushed: String,
    /// The digest the tag now points at.
    pub digest: String,
    /// Digests of blobs uploaded.
    pub uploaded: Vec<String>,
    /// Digests of blobs the registry already had.
    pub already_present: Vec<String>,
    /// Digests of blobs mounted from another repository.
    pub mounted: Vec<String>,
}

/// Why reading the source failed, recorded by the upload stream.
enum SourceFailure {
    Read(io::Error),
    Corrupt(VerifyError),
}

impl Registry {
    /// Pushes `plan` to `target`: every blob the registry lacks (checked with `HEAD`,
    /// mounted when [`PushPlan::mount_from`] names a repository of the same registry,
    /// otherwise streamed from `source` and verified on the way), up to
    /// `max_concurrent_uploads` at once and retried on transient errors; then each
    /// manifest by digest; then the index (or the single manifest) under the target's tag.
    /// A failed push leaves the tag untouched; running it again uploads only what is
    /// missing.
    pub async fn push(
        &self,
        target: &ImageRef,
        plan: &PushPlan,
        source: &impl BlobSource,
        progress: &dyn Progress,
    ) -> Result<PushReport, PushError> {
        let top = plan.top();
        if let Some(pinned) = target.digest() {
            if pinned != top.digest() {
                return Err(PushError::DigestMismatch {
                    target: target.to_string(),
                    pinned: pinned.to_owned(),
                    actual: top.digest().to_owned(),
                });
            }
        }
        let host = self.host_client(target).await?;
        let mut report = PushReport {
            pushed: target.with_digest(top.digest()).to_string(),
            digest: top.digest().to_owned(),
            ..PushReport::default()
        };

        let stop = AtomicBool::new(false);
        let skipped = AtomicUsize::new(0);
        // The futures are built first (none runs before it is polled), so the stream's type
        // holds no closure over borrowed descriptors, and the whole future stays `Send`.
        let jobs: Vec<_> = plan
            .blobs()
            .iter()
            .map(|blob| {
                let (stop, skipped, host) = (&stop, &skipped, &host);
                async move {
                    if stop.load(Ordering::Relaxed) {
                        skipped.fetch_add(1, Ordering::Relaxed);
                        return None;
                    }
                    let mount = plan.mounts.get(blob.digest().as_ref());
                    let result = self
                        .push_blob(host, target, blob, mount, source, progress)
                        .await;
                    progress.blob_finished(blob, *result.as_ref().unwrap_or(&BlobOutcome::Failed));
                    if result.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    Some(result.map(|outcome| (blob.digest().to_string(), outcome)))
                }
            })
            .collect();
        let results: Vec<Option<Result<(String, BlobOutcome), PushError>>> =
            futures_util::stream::iter(jobs)
                .buffer_unordered(self.config().max_concurrent_uploads.max(1))
                .collect()
                .await;
        let mut first_error = None;
        for result in results.into_iter().flatten() {
            match result {
                Ok((digest, BlobOutcome::Mounted)) => report.mounted.push(digest),
                Ok((digest, BlobOutcome::AlreadyPresent)) => report.already_present.push(digest),
                Ok((digest, _)) => report.uploaded.push(digest),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(mut error) = first_error {
            if let PushError::Blob { not_attempted, .. } = &mut error {
                *not_attempted = skipped.load(Ordering::Relaxed);
            }
            return Err(error);
        }

        if plan.index.is_some() {
            for manifest in plan.manifests() {
                let by_digest = target.with_digest(manifest.digest());
                self.push_manifest(&host, &by_digest, manifest, "manifest", progress)
                    .await?;
            }
        }
        self.push_manifest(
            &host,
            target,
            top,
            if plan.index.is_some() {
                "index"
            } else {
                "manifest"
            },
            progress,
        )
        .await?;
        Ok(report)
    }

    /// Puts one manifest (or index) under `reference`, with retries.
    async fn push_manifest(
        &self,
        host: &HostClient,
        reference: &ImageRef,
        manifest: &RawManifest,
        what: &'static str,
        progress: &dyn Progress,
    ) -> Result<(), PushError> {
        let content_type = HeaderValue::from_str(&manifest.media_type()).map_err(|_| {
            PushError::Plan(format!(
                "media type {:?} is not a valid header value",
                manifest.media_type()
            ))
        })?;
        self.retry(
            || {
                host.client.push_manifest_raw(
                    reference.as_oci(),
                    manifest.bytes().clone(),
                    content_type.clone(),
                )
            },
            |_, _| {},
        )
        .await
        .map_err(|(e, attempts)| PushError::PushManifest {
            what,
            digest: manifest.digest().to_owned(),
            target: reference.to_string(),
            attempts,
            reason: error_chain(&e),
            hint: self.hint(&e, reference),
        })?;
        progress.manifest_pushed(manifest.descriptor(), &reference.to_string());
        Ok(())
    }

    /// Makes sure the registry has one blob: present, mounted, or uploaded.
    async fn push_blob(
        &self,
        host: &HostClient,
        target: &ImageRef,
        blob: &Descriptor,
        mount: Option<&ImageRef>,
        source: &impl BlobSource,
        progress: &dyn Progress,
    ) -> Result<BlobOutcome, PushError> {
        let digest = blob.digest().to_string();
        let blob_error = |e: &OciDistributionError, attempts| PushError::Blob {
            digest: digest.clone(),
            size: blob.size(),
            target: target.to_string(),
            attempts,
            reason: error_chain(e),
            hint: self.hint(e, target),
            not_attempted: 0,
        };
        let exists = match self
            .retry(
                || host.client.blob_exists(target.as_oci(), &digest),
                |attempt, e| progress.retrying(blob, attempt, &error_chain(e)),
            )
            .await
        {
            Ok(exists) => exists,
            // The registry answered, but not whether it has the blob (a registry killed
            // while committing it answers 500): uploading again repairs that.
            Err((e, _)) if answered(&e) => false,
            Err((e, attempts)) => return Err(blob_error(&e, attempts)),
        };
        if exists {
            return Ok(BlobOutcome::AlreadyPresent);
        }
        if let Some(from) =
            mount.filter(|m| m.host() == target.host() && m.repository() != target.repository())
        {
            // A registry that cannot mount answers 202 and opens an upload instead; then
            // upload as usual.
            if host
                .client
                .mount_blob(target.as_oci(), from.as_oci(), &digest)
                .await
                .is_ok()
            {
                return Ok(BlobOutcome::Mounted);
            }
        }
        let attempts = self.config().retry.attempts();
        let mut attempt = 1;
        loop {
            progress.blob_started(blob, Direction::Upload);
            match self.upload_once(host, target, blob, source, progress).await {
                Ok(()) => return Ok(BlobOutcome::Uploaded),
                Err(UploadFailure::Source(SourceFailure::Corrupt(e))) => {
                    return Err(PushError::SourceCorrupt(e))
                }
                Err(UploadFailure::Source(SourceFailure::Read(e))) => {
                    return Err(PushError::SourceRead {
                        digest,
                        size: blob.size(),
                        source: e,
                    })
                }
                Err(UploadFailure::Registry(e)) if attempt < attempts && is_retryable(&e) => {
                    progress.retrying(blob, attempt, &error_chain(&e));
                    tokio::time::sleep(self.config().retry.backoff(attempt)).await;
                    attempt += 1;
                }
                Err(UploadFailure::Registry(e)) => return Err(blob_error(&e, attempt)),
            }
        }
    }

    /// Streams the blob from the source to the registry once.
    async fn upload_once(
        &self,
        host: &HostClient,
        target: &ImageRef,
        blob: &Descriptor,
        source: &impl BlobSource,
        progress: &dyn Progress,
    ) -> Result<(), UploadFailure> {
        let reader = source
            .open(blob)
            .await
            .map_err(|e| UploadFailure::Source(SourceFailure::Read(e)))?;
        let verifier = Verifier::new(blob.digest().as_ref(), blob.size())
            .map_err(|e| UploadFailure::Source(SourceFailure::Corrupt(e)))?;
        let failure: Arc<Mutex<Option<SourceFailure>>> = Arc::default();
        let (sent_tx, mut sent_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let stream = upload_stream(reader, verifier, failure.clone(), sent_tx);
        let upload = host.client.push_blob_stream(
            target.as_oci(),
            stream,
            blob.digest().as_ref(),
            Some(blob.size()),
        );
        tokio::pin!(upload);
        let result = loop {
            tokio::select! {
                result = &mut upload => break result,
                Some(bytes) = sent_rx.recv() => progress.blob_bytes(blob, bytes),
            }
        };
        while let Ok(bytes) = sent_rx.try_recv() {
            progress.blob_bytes(blob, bytes);
        }
        let recorded = failure.lock().map(|mut f| f.take()).unwrap_or(None);
        match (result, recorded) {
            (_, Some(source_failure)) => Err(UploadFailure::Source(source_failure)),
            (Err(e), None) => Err(UploadFailure::Registry(e)),
            (Ok(_), None) => Ok(()),
        }
    }
}

/// Whether the registry sent an HTTP status (as opposed to a connection failure), other
/// than one refusing access.
fn answered(error: &OciDistributionError) -> bool {
    let status = match error {
        OciDistributionError::ServerError { code, .. } => Some(*code),
        OciDistributionError::RequestError(e) => e.status().map(|s| s.as_u16()),
        _ => None,
    };
    status.is_some_and(|code| code != 401 && code != 403)
}

enum UploadFailure {
    Source(SourceFailure),
    Registry(OciDistributionError),
}

/// The blob as a stream of chunks of up to [`UPLOAD_CHUNK`] bytes, verified as it is read;
/// a read error or a mismatch is recorded in `failure` and ends the stream with an error,
/// so the upload is never committed.
fn upload_stream(
    reader: Box<dyn AsyncRead + Send + Unpin>,
    verifier: Verifier,
    failure: Arc<Mutex<Option<SourceFailure>>>,
    sent: tokio::sync::mpsc::UnboundedSender<u64>,
) -> impl futures_util::Stream<Item = Result<Bytes, OciDistributionError>> + Send + 'static {
    let state = (reader, Some(verifier), failure, sent);
    futures_util::stream::try_unfold(
        state,
        |(mut reader, mut verifier, failure, sent)| async move {
            let record = |f: SourceFailure, failure: &Arc<Mutex<Option<SourceFailure>>>| {
                if let Ok(mut slot) = failure.lock() {
                    *slot = Some(f);
                }
                OciDistributionError::GenericError(Some(
                    "reading the blob from the local store failed".into(),
                ))
            };
            let Some(mut v) = verifier.take() else {
                return Ok(None);
            };
            let mut chunk = BytesMut::with_capacity(UPLOAD_CHUNK);
            while chunk.len() < UPLOAD_CHUNK {
                match reader.read_buf(&mut chunk).await {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => return Err(record(SourceFailure::Read(e), &failure)),
                }
            }
            if chunk.is_empty() {
                return match v.finish() {
                    Ok(()) => Ok(None),
                    Err(e) => Err(record(SourceFailure::Corrupt(e), &failure)),
                };
            }
            if let Err(e) = v.update(&chunk) {
                return Err(record(SourceFailure::Corrupt(e), &failure));
            }
            let _ = sent.send(chunk.len() as u64);
            verifier = Some(v);
            Ok(Some((chunk.freeze(), (reader, verifier, failure, sent))))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn digests(plan: &PushPlan) -> HashSet<String> {
        plan.blobs()
            .iter()
            .map(|b| b.digest().to_string())
            .collect()
    }

    fn manifest(config: &str, layers: &[&str]) -> RawManifest {
        let d = |hex: &str, size: u64| {
            serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                               "digest": format!("sha256:{hex:0>64}"), "size": size})
        };
        let json = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": format!("sha256:{config:0>64}"), "size": 10},
            "layers": layers.iter().map(|l| d(l, 5)).collect::<Vec<_>>(),
        });
        RawManifest::new(serde_json::to_vec(&json).expect("json")).expect("manifest")
    }

    fn index(manifests: &[&RawManifest]) -> RawManifest {
        let json = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests.iter().map(|m| serde_json::json!({
                "mediaType": m.media_type(), "digest": m.digest(), "size": m.size(),
                "platform": {"os": "linux", "architecture": "amd64"}})).collect::<Vec<_>>(),
        });
        RawManifest::new(serde_json::to_vec(&json).expect("json")).expect("index")
    }

    #[test]
    fn plans_list_each_blob_once() {
        let a = manifest("c1", &["a", "b"]);
        let b = manifest("c2", &["a", "d"]);
        let plan = PushPlan::index(index(&[&a, &b]), vec![b.clone(), a.clone()]).expect("plan");
        let expected: HashSet<String> = ["c1", "c2", "a", "b", "d"]
            .iter()
            .map(|h| format!("sha256:{h:0>64}"))
            .collect();
        assert_eq!(digests(&plan), expected);
        assert_eq!(plan.blobs().len(), 5);
        assert_eq!(plan.manifests()[0].digest(), a.digest(), "index order");
        assert!(plan.manifests()[0].descriptor().platform().is_some());
        let single = PushPlan::image(a.clone()).expect("image");
        assert_eq!(single.top().digest(), a.digest());
    }

    #[test]
    fn plans_refuse_indexes_pointing_at_missing_content() {
        let a = manifest("c1", &["a"]);
        let b = manifest("c2", &["b"]);
        let err = PushPlan::index(index(&[&a, &b]), vec![a.clone()]).expect_err("missing");
        assert!(
            err.to_string().contains(&format!(
                "lists manifest {}, which was not given",
                b.digest()
            )),
            "{err}"
        );
        let err = PushPlan::index(index(&[&a]), vec![a.clone(), b.clone()]).expect_err("extra");
        assert!(err.to_string().contains("does not list it"), "{err}");
        assert!(PushPlan::image(index(&[&a])).is_err());
        assert!(PushPlan::index(a.clone(), vec![]).is_err());
    }

    #[test]
    fn blob_errors_name_the_blob_and_say_what_to_do() {
        let err = PushError::Blob {
            digest: "sha256:abc".into(),
            size: 42,
            target: "127.0.0.1:5000/app:1".into(),
            attempts: 3,
            reason: "connection refused".into(),
            hint: String::new(),
            not_attempted: 2,
        };
        assert_eq!(
            err.to_string(),
            "uploading blob sha256:abc (42 bytes) to 127.0.0.1:5000/app:1 failed after 3 attempts: \
             connection refused; nothing was tagged: run the push again, blobs already in the \
             registry are skipped (2 other blobs were not attempted)"
        );
    }
}
