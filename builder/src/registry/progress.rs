//! Progress reports for pulls and pushes; the library draws nothing itself.

use oci_spec::image::Descriptor;

/// Which way a blob moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the registry to the local sink.
    Download,
    /// From the local source to the registry.
    Upload,
}

/// How a blob's transfer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobOutcome {
    /// Fetched from the registry, verified and written to the sink.
    Downloaded,
    /// Streamed to the registry and committed.
    Uploaded,
    /// Nothing to do: the sink (pull) or the registry (push) already had it.
    AlreadyPresent,
    /// Mounted from another repository of the same registry, without uploading.
    Mounted,
    /// Gave up; the error is in the result of the pull or push.
    Failed,
}

/// Receives transfer events, e.g. to draw progress bars. Every method has an empty default;
/// calls come from whichever task moves the blob, so implementations must be cheap and
/// thread-safe.
pub trait Progress: Send + Sync {
    /// A blob transfer starts (again, after [`retrying`](Self::retrying)).
    fn blob_started(&self, _blob: &Descriptor, _direction: Direction) {}
    /// `bytes` more bytes of the blob were moved.
    fn blob_bytes(&self, _blob: &Descriptor, _bytes: u64) {}
    /// The blob is done.
    fn blob_finished(&self, _blob: &Descriptor, _outcome: BlobOutcome) {}
    /// Attempt `attempt` (1-based) failed with `error` and the transfer starts over from byte
    /// zero after a pause.
    fn retrying(&self, _blob: &Descriptor, _attempt: u32, _error: &str) {}
    /// A manifest or index was stored in the registry under `reference`.
    fn manifest_pushed(&self, _manifest: &Descriptor, _reference: &str) {}
}

/// Ignores every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
