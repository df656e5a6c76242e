//! Pulling: blobs streamed from a registry into a [`BlobSink`], verified on the way.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::{Buf as _, Bytes};
use crossbuild::Platform;
use futures_util::stream::{BoxStream, StreamExt as _};
use oci_spec::image::Descriptor;
use tokio::io::{AsyncRead, ReadBuf};

use super::client::{
    error_chain, is_retryable, oci_descriptor, Registry, RegistryError, ResolvedImage,
};
use super::progress::{BlobOutcome, Direction, Progress};
use super::reference::ImageRef;
use super::verify::{Verifier, VerifyError};

/// Where pulled content goes: the content store, or anything content-addressed.
///
/// A pull asks [`has`](Self::has) first and skips what the sink already holds, then calls
/// [`write`](Self::write) with a reader over the blob. The reader checks size and digest as
/// the bytes pass and fails (`InvalidData`) before its end when they do not match, and
/// returns transport errors as they happen; the sink must then keep nothing. A write may be
/// called again for the same blob after a failed one (retries start over from byte zero).
pub trait BlobSink: Sync {
    /// Whether the sink already holds this blob.
    fn has(&self, blob: &Descriptor) -> bool;

    /// Stores the blob read from `data`, reading it to its end; an error from `data` must
    /// be returned (and the partial content dropped).
    fn write(
        &self,
        blob: &Descriptor,
        data: &mut BlobDownload<'_>,
    ) -> impl Future<Output = io::Result<()>> + Send;
}

/// What a pull did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PullReport {
    /// Blobs fetched and written to the sink, in the order they finished.
    pub downloaded: Vec<Descriptor>,
    /// Blobs the sink already had.
    pub already_present: Vec<Descriptor>,
}

/// Why one download attempt failed.
pub(crate) enum DownloadFailure {
    /// The connection or the registry failed; worth another try.
    Transport(String),
    /// The content is not what the descriptor says; another source may have it right.
    Verify(VerifyError),
    /// The sink failed; nothing to retry.
    Sink(String),
}

/// A blob being downloaded, read by a [`BlobSink`]: verified against its descriptor while
/// it streams (size checked on every chunk, digest at the end).
pub struct BlobDownload<'a> {
    stream: BoxStream<'static, io::Result<Bytes>>,
    current: Bytes,
    verifier: Option<Verifier>,
    descriptor: &'a Descriptor,
    progress: &'a dyn Progress,
    finished: bool,
    failure: Option<DownloadFailure>,
}

impl<'a> BlobDownload<'a> {
    fn new(
        stream: BoxStream<'static, io::Result<Bytes>>,
        descriptor: &'a Descriptor,
        progress: &'a dyn Progress,
    ) -> Result<Self, VerifyError> {
        Ok(Self {
            stream,
            current: Bytes::new(),
            verifier: Some(Verifier::new(
                descriptor.digest().as_ref(),
                descriptor.size(),
            )?),
            descriptor,
            progress,
            finished: false,
            failure: None,
        })
    }

    /// A reader over content already in memory (manifests, configs), verified the same way.
    fn from_bytes(
        bytes: Bytes,
        descriptor: &'a Descriptor,
        progress: &'a dyn Progress,
    ) -> Result<Self, VerifyError> {
        Self::new(
            futures_util::stream::iter([Ok(bytes)]).boxed(),
            descriptor,
            progress,
        )
    }

    /// The blob being read.
    pub fn descriptor(&self) -> &Descriptor {
        self.descriptor
    }

    /// Whether the whole blob was read and verified.
    pub fn is_complete(&self) -> bool {
        self.finished
    }

    fn fail(&mut self, failure: DownloadFailure, error: io::Error) -> Poll<io::Result<()>> {
        self.verifier = None;
        self.failure = Some(failure);
        Poll::Ready(Err(error))
    }
}

impl AsyncRead for BlobDownload<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.current.is_empty() {
                let n = this.current.len().min(buf.remaining());
                buf.put_slice(&this.current[..n]);
                this.current.advance(n);
                this.progress.blob_bytes(this.descriptor, n as u64);
                return Poll::Ready(Ok(()));
            }
            if this.finished {
                return Poll::Ready(Ok(()));
            }
            let Some(verifier) = this.verifier.as_mut() else {
                return Poll::Ready(Err(io::Error::other("the blob download already failed")));
            };
            match futures_util::ready!(this.stream.poll_next_unpin(cx)) {
                Some(Ok(chunk)) => match verifier.update(&chunk) {
                    Ok(()) => this.current = chunk,
                    Err(e) => {
                        let error = io::Error::new(io::ErrorKind::InvalidData, e.clone());
                        return this.fail(DownloadFailure::Verify(e), error);
                    }
                },
                Some(Err(e)) => {
                    // oci-client checks the digest too and reports a mismatch as an error at
                    // the end of the stream: tell a corrupt blob from a broken connection.
                    if verifier.seen() == this.descriptor.size() {
                        if let Some(Err(v)) = this.verifier.take().map(Verifier::finish) {
                            let error = io::Error::new(io::ErrorKind::InvalidData, v.clone());
                            return this.fail(DownloadFailure::Verify(v), error);
                        }
                    }
                    let reason = error_chain(&e);
                    return this.fail(DownloadFailure::Transport(reason), e);
                }
                None => {
                    let result = this.verifier.take().map(Verifier::finish);
                    if let Some(Err(v)) = result {
                        let error = io::Error::new(io::ErrorKind::InvalidData, v.clone());
                        return this.fail(DownloadFailure::Verify(v), error);
                    }
                    this.finished = true;
                }
            }
        }
    }
}

/// Reads a small blob into memory, verified.
pub(crate) async fn read_small_blob(
    stream: BoxStream<'static, io::Result<Bytes>>,
    descriptor: &Descriptor,
) -> Result<Bytes, DownloadFailure> {
    use tokio::io::AsyncReadExt as _;
    let progress = super::progress::NoProgress;
    let mut reader =
        BlobDownload::new(stream, descriptor, &progress).map_err(DownloadFailure::Verify)?;
    let mut out = Vec::with_capacity(usize::try_from(descriptor.size()).unwrap_or(0).min(1 << 20));
    match reader.read_to_end(&mut out).await {
        Ok(_) => Ok(out.into()),
        Err(e) => Err(reader
            .failure
            .take()
            .unwrap_or(DownloadFailure::Sink(e.to_string()))),
    }
}

impl Registry {
    /// Resolves `reference` for `platform` and pulls everything the image consists of into
    /// `sink`: see [`resolve_image`](Self::resolve_image) and [`pull_blobs`](Self::pull_blobs).
    pub async fn pull_image(
        &self,
        reference: &ImageRef,
        platform: &Platform,
        sink: &impl BlobSink,
        progress: &dyn Progress,
    ) -> Result<(ResolvedImage, PullReport), RegistryError> {
        let image = self.resolve_image(reference, platform).await?;
        let report = self.pull_blobs(&image, sink, progress).await?;
        Ok((image, report))
    }

    /// Writes the blobs of a resolved image that `sink` does not have, in the order of
    /// [`ResolvedImage::blobs`]: layers (several at once, up to
    /// `max_concurrent_downloads`), then config, manifest and index from memory. Each layer
    /// download is retried on transient errors and tried from each source (mirrors, then
    /// the registry). The first failure stops the layers not yet started.
    pub async fn pull_blobs(
        &self,
        image: &ResolvedImage,
        sink: &impl BlobSink,
        progress: &dyn Progress,
    ) -> Result<PullReport, RegistryError> {
        let mut report = PullReport::default();
        let mut in_memory = vec![(
            image.image_manifest().config().clone(),
            image.config().clone(),
        )];
        in_memory.push((
            image.manifest().descriptor().clone(),
            image.manifest().bytes().clone(),
        ));
        if let Some(index) = image.index() {
            in_memory.push((index.descriptor().clone(), index.bytes().clone()));
        }
        let blobs = image.blobs();
        let layers: Vec<&Descriptor> = blobs
            .iter()
            .filter(|d| !in_memory.iter().any(|(m, _)| m.digest() == d.digest()))
            .collect();
        let stop = AtomicBool::new(false);
        // The futures are built first (none runs before it is polled), so the stream's type
        // holds no closure over borrowed descriptors, and the whole future stays `Send`.
        let jobs: Vec<_> = layers
            .into_iter()
            .map(|layer| {
                let stop = &stop;
                async move {
                    if stop.load(Ordering::Relaxed) {
                        return Ok((layer.clone(), false));
                    }
                    let result = self
                        .fetch_blob(image.sources(), layer, sink, progress)
                        .await;
                    if result.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    result.map(|fetched| (layer.clone(), fetched))
                }
            })
            .collect();
        let results: Vec<Result<(Descriptor, bool), RegistryError>> =
            futures_util::stream::iter(jobs)
                .buffer_unordered(self.config().max_concurrent_downloads.max(1))
                .collect()
                .await;
        for result in results {
            let (descriptor, fetched) = result?;
            if fetched {
                report.downloaded.push(descriptor);
            } else {
                report.already_present.push(descriptor);
            }
        }
        for (descriptor, bytes) in &in_memory {
            if report
                .downloaded
                .iter()
                .chain(&report.already_present)
                .any(|d| d.digest() == descriptor.digest())
            {
                continue;
            }
            if sink.has(descriptor) {
                progress.blob_finished(descriptor, BlobOutcome::AlreadyPresent);
                report.already_present.push(descriptor.clone());
                continue;
            }
            progress.blob_started(descriptor, Direction::Download);
            let mut reader = BlobDownload::from_bytes(bytes.clone(), descriptor, progress)
                .map_err(|e| RegistryError::Verify {
                    reference: image.reference().to_string(),
                    source: e,
                })?;
            let written = sink.write(descriptor, &mut reader).await;
            self.finish_write(descriptor, &mut reader, written, image.reference())
                .inspect_err(|_| progress.blob_finished(descriptor, BlobOutcome::Failed))?;
            progress.blob_finished(descriptor, BlobOutcome::Downloaded);
            report.downloaded.push(descriptor.clone());
        }
        Ok(report)
    }

    /// Turns the outcome of a sink write into a result.
    fn finish_write(
        &self,
        descriptor: &Descriptor,
        reader: &mut BlobDownload<'_>,
        written: io::Result<()>,
        reference: &ImageRef,
    ) -> Result<(), RegistryError> {
        let sink_error = |source| RegistryError::Sink {
            digest: descriptor.digest().to_string(),
            size: descriptor.size(),
            source,
        };
        match (written, reader.failure.take()) {
            (_, Some(DownloadFailure::Verify(e))) => Err(RegistryError::Verify {
                reference: reference.to_string(),
                source: e,
            }),
            (_, Some(DownloadFailure::Transport(reason) | DownloadFailure::Sink(reason))) => {
                Err(RegistryError::Request {
                    action: "fetch blob from",
                    reference: reference.to_string(),
                    reason: format!("{}: {reason}", descriptor.digest()),
                    hint: String::new(),
                })
            }
            (Err(e), None) => Err(sink_error(e)),
            (Ok(()), None) if !reader.is_complete() => Err(sink_error(io::Error::other(
                "the sink returned before reading the whole blob",
            ))),
            (Ok(()), None) => Ok(()),
        }
    }

    /// Downloads one blob into `sink` unless it has it: `Ok(true)` when downloaded,
    /// `Ok(false)` when the sink already had it. Transient failures are retried with
    /// backoff; each attempt tries the sources in order.
    pub async fn fetch_blob(
        &self,
        sources: &[ImageRef],
        blob: &Descriptor,
        sink: &impl BlobSink,
        progress: &dyn Progress,
    ) -> Result<bool, RegistryError> {
        if sink.has(blob) {
            progress.blob_finished(blob, BlobOutcome::AlreadyPresent);
            return Ok(false);
        }
        let attempts = self.config().retry.attempts();
        let mut last: Option<RegistryError> = None;
        for attempt in 1..=attempts {
            let mut worth_retrying = false;
            for source in sources {
                progress.blob_started(blob, Direction::Download);
                match self.try_download(source, blob, sink, progress).await {
                    Ok(()) => {
                        progress.blob_finished(blob, BlobOutcome::Downloaded);
                        return Ok(true);
                    }
                    Err((error, retryable)) => {
                        if matches!(error, RegistryError::Sink { .. }) {
                            progress.blob_finished(blob, BlobOutcome::Failed);
                            return Err(error);
                        }
                        worth_retrying |= retryable;
                        last = Some(error);
                    }
                }
            }
            if !worth_retrying || attempt == attempts {
                break;
            }
            if let Some(error) = &last {
                progress.retrying(blob, attempt, &error.to_string());
            }
            tokio::time::sleep(self.config().retry.backoff(attempt)).await;
        }
        progress.blob_finished(blob, BlobOutcome::Failed);
        Err(last.unwrap_or_else(|| RegistryError::Request {
            action: "fetch blob from",
            reference: blob.digest().to_string(),
            reason: "no source to fetch from".into(),
            hint: String::new(),
        }))
    }

    /// One attempt from one source; the flag says whether the failure is worth retrying.
    async fn try_download(
        &self,
        source: &ImageRef,
        blob: &Descriptor,
        sink: &impl BlobSink,
        progress: &dyn Progress,
    ) -> Result<(), (RegistryError, bool)> {
        let host = self
            .host_client(source)
            .await
            .map_err(|e| (e.into(), false))?;
        let stream = host
            .client
            .pull_blob_stream(source.as_oci(), &oci_descriptor(blob))
            .await
            .map_err(|e| {
                let error = RegistryError::Request {
                    action: "fetch blob from",
                    reference: source.to_string(),
                    reason: format!(
                        "{} ({} bytes): {}",
                        blob.digest(),
                        blob.size(),
                        error_chain(&e)
                    ),
                    hint: self.hint(&e, source),
                };
                (error, is_retryable(&e))
            })?;
        let mut reader = BlobDownload::new(stream.stream, blob, progress).map_err(|e| {
            let error = RegistryError::Verify {
                reference: source.to_string(),
                source: e,
            };
            (error, false)
        })?;
        let written = sink.write(blob, &mut reader).await;
        let transport = matches!(reader.failure, Some(DownloadFailure::Transport(_)));
        self.finish_write(blob, &mut reader, written, source)
            .map_err(|e| (e, transport))
    }
}
