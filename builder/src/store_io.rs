//! The content [`Store`] as the registry client's [`BlobSink`] (pull into it) and
//! [`BlobSource`] (push from it).
//!
//! Store I/O is blocking (files, fsync), so it runs on tokio's blocking pool, one chunk
//! at a time: memory stays at one chunk per transfer whatever the blob's size.

use std::future::Future;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use oci_spec::image::Descriptor;
use tokio::io::{AsyncRead, AsyncReadExt as _, ReadBuf};
use tokio::task::JoinHandle;

use crate::registry::{BlobDownload, BlobSink, BlobSource};
use crate::store::{BlobReader, Store, StoreError};

/// Bytes moved per blocking-pool round trip.
const CHUNK: usize = 256 * 1024;

/// A store error as an `io::Error` (recoverable with [`StoreError::from_io`]).
fn store_io_error(err: StoreError) -> io::Error {
    let kind = match &err {
        StoreError::NotFound { .. } => io::ErrorKind::NotFound,
        StoreError::DigestMismatch { .. }
        | StoreError::SizeMismatch { .. }
        | StoreError::Corrupted { .. } => io::ErrorKind::InvalidData,
        StoreError::UnsupportedAlgorithm { .. } => io::ErrorKind::Unsupported,
        StoreError::Io { source, .. } => source.kind(),
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, err)
}

fn join_error(err: tokio::task::JoinError) -> io::Error {
    io::Error::other(format!("store I/O task failed: {err}"))
}

/// Runs blocking store work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(join_error)?
}

impl BlobSink for Store {
    fn has(&self, blob: &Descriptor) -> bool {
        self.exists(blob.digest())
    }

    /// Streams the download into a [`BlobWriter`](crate::BlobWriter) expecting the
    /// descriptor's digest and size, and commits it (the store verifies both too). On any
    /// error the writer is dropped, which removes its temp file.
    fn write(
        &self,
        blob: &Descriptor,
        data: &mut BlobDownload<'_>,
    ) -> impl Future<Output = io::Result<()>> + Send {
        let store = self.clone();
        let digest = blob.digest().clone();
        let size = blob.size();
        async move {
            let mut writer = blocking(move || {
                store
                    .writer(Some(&digest))
                    .map(|w| w.expect_size(size))
                    .map_err(store_io_error)
            })
            .await?;
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = data.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                (writer, buf) = blocking(move || {
                    // A store error (too many bytes) comes back inside the io::Error.
                    writer.write_all(&buf[..n])?;
                    Ok((writer, buf))
                })
                .await?;
            }
            blocking(move || writer.commit().map_err(store_io_error)).await?;
            Ok(())
        }
    }
}

impl BlobSource for Store {
    /// Opens the blob for reading; its digest is verified when the read reaches the end
    /// (a corrupted blob fails the push and is removed from the store).
    fn open(
        &self,
        blob: &Descriptor,
    ) -> impl Future<Output = io::Result<Box<dyn AsyncRead + Send + Unpin>>> + Send {
        let store = self.clone();
        let digest = blob.digest().clone();
        async move {
            let reader =
                blocking(move || Store::open(&store, &digest).map_err(store_io_error)).await?;
            Ok(Box::new(AsyncBlobReader::new(reader)) as Box<dyn AsyncRead + Send + Unpin>)
        }
    }
}

/// A [`BlobReader`] as an [`AsyncRead`]: each read of an empty buffer fetches the next
/// chunk on the blocking pool.
struct AsyncBlobReader {
    state: ReadState,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
}

type ChunkResult = (Box<BlobReader>, Vec<u8>, io::Result<usize>);

enum ReadState {
    Idle(Option<Box<BlobReader>>),
    Busy(JoinHandle<ChunkResult>),
    Done,
}

impl AsyncBlobReader {
    fn new(reader: BlobReader) -> Self {
        Self {
            state: ReadState::Idle(Some(Box::new(reader))),
            buf: vec![0u8; CHUNK],
            pos: 0,
            len: 0,
        }
    }
}

impl AsyncRead for AsyncBlobReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.pos < this.len {
                let n = (this.len - this.pos).min(out.remaining());
                out.put_slice(&this.buf[this.pos..this.pos + n]);
                this.pos += n;
                return Poll::Ready(Ok(()));
            }
            if out.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            match &mut this.state {
                ReadState::Done => return Poll::Ready(Ok(())),
                ReadState::Idle(reader) => {
                    let Some(mut reader) = reader.take() else {
                        return Poll::Ready(Err(io::Error::other("blob reader lost")));
                    };
                    let mut buf = std::mem::take(&mut this.buf);
                    this.state = ReadState::Busy(tokio::task::spawn_blocking(move || {
                        let result = loop {
                            match reader.read(&mut buf) {
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                                other => break other,
                            }
                        };
                        (reader, buf, result)
                    }));
                }
                ReadState::Busy(task) => {
                    let joined = ready!(Pin::new(task).poll(cx));
                    let (reader, buf, result) = match joined {
                        Ok(r) => r,
                        Err(e) => {
                            this.state = ReadState::Done;
                            return Poll::Ready(Err(join_error(e)));
                        }
                    };
                    this.buf = buf;
                    this.pos = 0;
                    this.len = 0;
                    match result {
                        Ok(0) => {
                            this.state = ReadState::Done;
                            return Poll::Ready(Ok(()));
                        }
                        Ok(n) => {
                            this.len = n;
                            this.state = ReadState::Idle(Some(reader));
                        }
                        Err(e) => {
                            this.state = ReadState::Done;
                            return Poll::Ready(Err(e));
                        }
                    }
                }
            }
        }
    }
}
