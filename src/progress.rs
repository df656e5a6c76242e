//! Progress bars for pulls and pushes: the builder's [`Progress`] events drawn with
//! indicatif, one bar per blob (bytes moved, rate, time left). Nothing is drawn when
//! stderr is not a terminal, so logs and pipes stay clean.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::Duration;

use builder::{BlobOutcome, Direction, Progress};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use oci_spec::image::Descriptor;

/// Draws transfers on stderr, or nothing when it is not a terminal.
pub(crate) struct TransferProgress {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    style: ProgressStyle,
}

impl TransferProgress {
    /// Bars on stderr if it is a terminal (and `NO_PROGRESS` is unset), else hidden.
    pub(crate) fn new() -> Self {
        let visible =
            std::io::stderr().is_terminal() && std::env::var_os("CROSSDOCK_NO_PROGRESS").is_none();
        Self::with_target(if visible {
            ProgressDrawTarget::stderr_with_hz(10)
        } else {
            ProgressDrawTarget::hidden()
        })
    }

    fn with_target(target: ProgressDrawTarget) -> Self {
        let style = ProgressStyle::with_template(
            "{prefix:>10} {msg:19} [{bar:24}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {eta:>4}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        Self {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
            style,
        }
    }

    /// The bar of a blob, created on first use.
    fn bar(&self, blob: &Descriptor) -> ProgressBar {
        let key = blob.digest().to_string();
        let Ok(mut bars) = self.bars.lock() else {
            return ProgressBar::hidden();
        };
        bars.entry(key)
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new(blob.size()));
                bar.set_style(self.style.clone());
                bar.set_message(short_digest(blob));
                bar.enable_steady_tick(Duration::from_millis(250));
                bar
            })
            .clone()
    }

    /// Stops drawing; finished bars stay on screen.
    pub(crate) fn finish(&self) {
        if let Ok(bars) = self.bars.lock() {
            for bar in bars.values().filter(|b| !b.is_finished()) {
                bar.abandon();
            }
        }
    }

    #[cfg(test)]
    fn position(&self, blob: &Descriptor) -> Option<(u64, String)> {
        let bars = self.bars.lock().ok()?;
        let bar = bars.get(&blob.digest().to_string())?;
        Some((bar.position(), bar.prefix()))
    }
}

/// `sha256:0123456789ab`, what the bars are labelled with.
fn short_digest(blob: &Descriptor) -> String {
    let digest = blob.digest();
    let hex = digest.digest();
    format!("{}:{}", digest.algorithm(), &hex[..hex.len().min(12)])
}

impl Progress for TransferProgress {
    fn blob_started(&self, blob: &Descriptor, direction: Direction) {
        let bar = self.bar(blob);
        bar.set_prefix(match direction {
            Direction::Download => "pulling",
            Direction::Upload => "pushing",
        });
        // A retry starts over from byte zero.
        bar.reset();
    }

    fn blob_bytes(&self, blob: &Descriptor, bytes: u64) {
        self.bar(blob).inc(bytes);
    }

    fn blob_finished(&self, blob: &Descriptor, outcome: BlobOutcome) {
        let bar = self.bar(blob);
        let prefix = match outcome {
            BlobOutcome::Downloaded => "pulled",
            BlobOutcome::Uploaded => "pushed",
            BlobOutcome::AlreadyPresent => "present",
            BlobOutcome::Mounted => "mounted",
            BlobOutcome::Failed => "FAILED",
        };
        bar.set_prefix(prefix);
        match outcome {
            BlobOutcome::Failed => bar.abandon(),
            _ => {
                bar.set_position(blob.size());
                bar.finish();
            }
        }
    }

    fn retrying(&self, blob: &Descriptor, attempt: u32, error: &str) {
        let _ = self.multi.println(format!(
            "{}: attempt {attempt} failed ({error}); retrying",
            blob.digest()
        ));
    }

    fn manifest_pushed(&self, manifest: &Descriptor, reference: &str) {
        let _ = self
            .multi
            .println(format!("pushed {} to {reference}", manifest.digest()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::{Digest, MediaType};

    fn blob(size: u64) -> Descriptor {
        let digest: Digest = format!("sha256:{}", "ab".repeat(32))
            .parse()
            .expect("digest");
        Descriptor::new(MediaType::ImageLayerGzip, size, digest)
    }

    #[test]
    fn bars_follow_bytes_retries_and_outcomes() {
        let progress = TransferProgress::with_target(ProgressDrawTarget::hidden());
        let b = blob(1000);
        progress.blob_started(&b, Direction::Upload);
        progress.blob_bytes(&b, 300);
        progress.blob_bytes(&b, 200);
        assert_eq!(progress.position(&b), Some((500, "pushing".into())));
        progress.retrying(&b, 1, "connection reset");
        progress.blob_started(&b, Direction::Upload);
        assert_eq!(
            progress.position(&b),
            Some((0, "pushing".into())),
            "a retry starts over"
        );
        progress.blob_bytes(&b, 1000);
        progress.blob_finished(&b, BlobOutcome::Uploaded);
        assert_eq!(progress.position(&b), Some((1000, "pushed".into())));
        assert_eq!(short_digest(&b), "sha256:abababababab");
    }

    #[test]
    fn blobs_already_present_are_shown_complete() {
        let progress = TransferProgress::with_target(ProgressDrawTarget::hidden());
        let b = blob(42);
        progress.blob_finished(&b, BlobOutcome::AlreadyPresent);
        assert_eq!(progress.position(&b), Some((42, "present".into())));
    }
}
