//! Shared by the `registry*` tests: a real registry (Debian's `docker-registry`), a tiny
//! scriptable HTTP server, a connection-dropping TCP proxy, a directory blob store, and
//! multi-platform test images.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use builder::{BlobDownload, BlobOutcome, BlobSink, BlobSource, Direction, Progress, RawManifest};
use oci_spec::image::Descriptor;
use sha2::Digest as _;
use tokio::io::AsyncRead;

#[path = "../../../tests/support/registry.rs"]
mod registry;
#[allow(unused_imports)]
pub use registry::{free_port, http_status, skopeo, skopeo_sees, TestRegistry};

// ---------------------------------------------------------------------------------------
// A directory of blobs, as sink and source.

/// Blobs in `<root>/sha256/<hex>`; written through a temp file renamed only when the
/// download reader reached its verified end.
#[derive(Clone)]
pub struct DirBlobs {
    root: PathBuf,
    writes: Arc<AtomicUsize>,
}

impl DirBlobs {
    /// A store under `root`.
    pub fn new(root: &Path) -> Self {
        std::fs::create_dir_all(root.join("sha256")).expect("blob dir");
        Self {
            root: root.to_owned(),
            writes: Arc::default(),
        }
    }

    /// Where a blob lives.
    pub fn path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.root.join("sha256").join(hex)
    }

    /// Stores bytes and returns their sha256 digest.
    pub fn put(&self, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        std::fs::write(self.path(&digest), bytes).expect("write blob");
        digest
    }

    /// Overwrites a stored blob (to corrupt it).
    pub fn overwrite(&self, digest: &str, bytes: &[u8]) {
        std::fs::write(self.path(digest), bytes).expect("overwrite blob");
    }

    /// A blob's bytes.
    pub fn get(&self, digest: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(digest)).ok()
    }

    /// Number of completed writes.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    /// Names of files in the blob directory (temp files included).
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root.join("sha256"))
            .expect("read blob dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        names
    }
}

impl BlobSink for DirBlobs {
    fn has(&self, blob: &Descriptor) -> bool {
        self.path(blob.digest().as_ref()).exists()
    }

    async fn write(&self, blob: &Descriptor, data: &mut BlobDownload<'_>) -> std::io::Result<()> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let final_path = self.path(blob.digest().as_ref());
        let temp =
            final_path.with_extension(format!("tmp{}", COUNTER.fetch_add(1, Ordering::SeqCst)));
        let mut file = tokio::fs::File::create(&temp).await?;
        let copied = tokio::io::copy(data, &mut file).await;
        drop(file);
        match copied {
            Ok(_) => {
                tokio::fs::rename(&temp, &final_path).await?;
                self.writes.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&temp).await;
                Err(e)
            }
        }
    }
}

impl BlobSource for DirBlobs {
    async fn open(&self, blob: &Descriptor) -> std::io::Result<Box<dyn AsyncRead + Send + Unpin>> {
        let file = tokio::fs::File::open(self.path(blob.digest().as_ref())).await?;
        Ok(Box::new(file))
    }
}

// ---------------------------------------------------------------------------------------
// Test images.

/// `sha256:<hex>` of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    let hash = sha2::Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Pseudo-random bytes (xorshift), different on every call.
pub fn random_bytes(len: usize) -> Vec<u8> {
    static SEED: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut x = SEED.fetch_add(0x2545_f491_4f6c_dd1d, Ordering::SeqCst) ^ nanos | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A multi-platform image whose blobs are in a [`DirBlobs`].
pub struct TestImage {
    /// The index.
    pub index: RawManifest,
    /// One manifest per entry, in index order.
    pub manifests: Vec<RawManifest>,
    /// Platform of each manifest (`unknown/unknown` for attestations).
    pub platforms: Vec<String>,
    /// Layer digests of each manifest.
    pub layers: Vec<Vec<String>>,
    /// Config digest of each manifest.
    pub configs: Vec<String>,
}

impl TestImage {
    /// A plan pushing the whole index.
    pub fn plan(&self) -> builder::PushPlan {
        builder::PushPlan::index(self.index.clone(), self.manifests.clone()).expect("push plan")
    }

    /// Every blob digest (layers and configs), once each.
    pub fn blob_digests(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .layers
            .iter()
            .flatten()
            .chain(&self.configs)
            .cloned()
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// The manifest for a platform string as written to [`build_image`].
    pub fn manifest_for(&self, platform: &str) -> &RawManifest {
        let i = self
            .platforms
            .iter()
            .position(|p| p == platform)
            .expect("platform in image");
        &self.manifests[i]
    }
}

/// Builds an OCI index with one manifest per platform (`os/arch[/variant]`, or
/// `unknown/unknown` for a BuildKit-style attestation), each with `layers` random layers of
/// `layer_size` bytes and a config naming its platform; blobs go into `blobs`.
pub fn build_image(
    blobs: &DirBlobs,
    platforms: &[&str],
    layers: usize,
    layer_size: usize,
) -> TestImage {
    let mut manifests = Vec::new();
    let mut entries = Vec::new();
    let (mut all_layers, mut configs) = (Vec::new(), Vec::new());
    for platform in platforms {
        let parts: Vec<&str> = platform.split('/').collect();
        let layer_bytes: Vec<Vec<u8>> = (0..layers).map(|_| random_bytes(layer_size)).collect();
        let layer_digests: Vec<String> = layer_bytes.iter().map(|b| blobs.put(b)).collect();
        let mut config = serde_json::json!({
            "architecture": parts[1], "os": parts[0],
            "rootfs": {"type": "layers", "diff_ids": layer_digests},
            "config": {"Env": [format!("PLATFORM={platform}")]},
        });
        let mut pl = serde_json::json!({"architecture": parts[1], "os": parts[0]});
        if let Some(v) = parts.get(2) {
            config["variant"] = (*v).into();
            pl["variant"] = (*v).into();
        }
        let config_bytes = serde_json::to_vec(&config).expect("config json");
        let config_digest = blobs.put(&config_bytes);
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config_bytes.len()},
            "layers": layer_digests.iter().zip(&layer_bytes).map(|(d, b)| serde_json::json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": b.len()
            })).collect::<Vec<_>>(),
        });
        let raw = RawManifest::new(serde_json::to_vec(&manifest).expect("manifest json"))
            .expect("manifest");
        let mut entry = serde_json::json!({
            "mediaType": raw.media_type(), "digest": raw.digest(), "size": raw.size(), "platform": pl,
        });
        if *platform == "unknown/unknown" {
            let subject = manifests
                .first()
                .map(|m: &RawManifest| m.digest().to_owned())
                .unwrap_or_default();
            entry["annotations"] = serde_json::json!({
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": subject,
            });
        }
        entries.push(entry);
        manifests.push(raw);
        all_layers.push(layer_digests);
        configs.push(config_digest);
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": entries,
    });
    let index = RawManifest::new(serde_json::to_vec(&index).expect("index json")).expect("index");
    TestImage {
        index,
        manifests,
        platforms: platforms.iter().map(|p| (*p).to_owned()).collect(),
        layers: all_layers,
        configs,
    }
}

// ---------------------------------------------------------------------------------------
// Progress recording.

type Hook = Box<dyn Fn(&Descriptor, BlobOutcome) + Send + Sync>;

/// Records blob outcomes and retries; optionally runs a hook on each finished blob.
#[derive(Default)]
pub struct Recorder {
    /// (digest, outcome) in order.
    pub finished: Mutex<Vec<(String, BlobOutcome)>>,
    /// (digest, attempt, error).
    pub retries: Mutex<Vec<(String, u32, String)>>,
    /// Bytes reported per digest.
    pub bytes: Mutex<HashMap<String, u64>>,
    /// Uploads and downloads started.
    pub started: AtomicUsize,
    /// References manifests were pushed to.
    pub manifests: Mutex<Vec<String>>,
    hook: Option<Hook>,
}

impl Recorder {
    /// A recorder that calls `hook` on each finished blob.
    pub fn with_hook(hook: impl Fn(&Descriptor, BlobOutcome) + Send + Sync + 'static) -> Self {
        Self {
            hook: Some(Box::new(hook)),
            ..Self::default()
        }
    }

    /// Digests that ended with `outcome`, sorted.
    pub fn with_outcome(&self, outcome: BlobOutcome) -> Vec<String> {
        let mut v: Vec<String> = self
            .finished
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, o)| *o == outcome)
            .map(|(d, _)| d.clone())
            .collect();
        v.sort();
        v
    }
}

impl Progress for Recorder {
    fn blob_started(&self, _blob: &Descriptor, _direction: Direction) {
        self.started.fetch_add(1, Ordering::SeqCst);
    }

    fn blob_bytes(&self, blob: &Descriptor, bytes: u64) {
        *self
            .bytes
            .lock()
            .expect("lock")
            .entry(blob.digest().to_string())
            .or_default() += bytes;
    }

    fn blob_finished(&self, blob: &Descriptor, outcome: BlobOutcome) {
        self.finished
            .lock()
            .expect("lock")
            .push((blob.digest().to_string(), outcome));
        if let Some(hook) = &self.hook {
            hook(blob, outcome);
        }
    }

    fn retrying(&self, blob: &Descriptor, attempt: u32, error: &str) {
        self.retries.lock().expect("lock").push((
            blob.digest().to_string(),
            attempt,
            error.to_owned(),
        ));
    }

    fn manifest_pushed(&self, _manifest: &Descriptor, reference: &str) {
        self.manifests
            .lock()
            .expect("lock")
            .push(reference.to_owned());
    }
}

// ---------------------------------------------------------------------------------------
// A TCP proxy that drops connections.

/// Forwards 127.0.0.1:port to a target port; a connection that carries more than `limit`
/// bytes in the watched direction is cut, at most `max_drops` times.
pub struct DropProxy {
    port: u16,
    stop: Arc<AtomicBool>,
    /// Connections cut so far.
    pub dropped: Arc<AtomicUsize>,
}

impl DropProxy {
    /// Cuts up to `max_drops` connections (`usize::MAX`: all) after `limit` request bytes.
    pub fn start(target: u16, limit: usize, max_drops: usize) -> Self {
        Self::start_watching(target, limit, max_drops, false)
    }

    /// Like [`start`](Self::start), counting response bytes instead (cuts downloads).
    pub fn start_on_responses(target: u16, limit: usize, max_drops: usize) -> Self {
        Self::start_watching(target, limit, max_drops, true)
    }

    fn start_watching(target: u16, limit: usize, max_drops: usize, responses: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("address").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (stop2, dropped2) = (stop.clone(), dropped.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let dropped = dropped2.clone();
                        std::thread::spawn(move || {
                            proxy_connection(client, target, limit, max_drops, responses, &dropped)
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            port,
            stop,
            dropped,
        }
    }

    /// `127.0.0.1:PORT` of the proxy.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for DropProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn proxy_connection(
    client: TcpStream,
    target: u16,
    limit: usize,
    max_drops: usize,
    responses: bool,
    dropped: &Arc<AtomicUsize>,
) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
        return;
    };
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let (up_limit, down_limit) = if responses {
        (usize::MAX, limit)
    } else {
        (limit, usize::MAX)
    };
    let dropped2 = dropped.clone();
    let back = std::thread::spawn(move || pump(server2, client2, down_limit, max_drops, &dropped2));
    pump(client, server, up_limit, max_drops, dropped);
    let _ = back.join();
}

/// Copies `from` to `to`; after `limit` bytes, cuts both if a drop is still allowed.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    limit: usize,
    max_drops: usize,
    dropped: &AtomicUsize,
) {
    let mut moved = 0usize;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        moved += n;
        if moved > limit {
            let claimed = dropped
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| {
                    (d < max_drops).then_some(d + 1)
                })
                .is_ok();
            if claimed {
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Both);
                return;
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

// ---------------------------------------------------------------------------------------
// A scriptable HTTP server.

/// A request as the fake server saw it.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `HEAD`, …
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Header names lowercased.
    pub headers: HashMap<String, String>,
}

/// A response: status, headers, body.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a body and no extra headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// An HTTP/1.1 server on 127.0.0.1 answering every request with `handler`, one connection
/// per request (`Connection: close`).
pub struct FakeServer {
    port: u16,
    stop: Arc<AtomicBool>,
    /// Every request received.
    pub requests: Arc<Mutex<Vec<Request>>>,
}

impl FakeServer {
    /// Starts the server.
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake server");
        let port = listener.local_addr().expect("address").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let handler: Handler = Arc::new(handler);
        let (stop2, requests2) = (stop.clone(), requests.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (handler, requests) = (handler.clone(), requests2.clone());
                        std::thread::spawn(move || serve_one(stream, &handler, &requests));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            port,
            stop,
            requests,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve_one(mut stream: TcpStream, handler: &Handler, requests: &Mutex<Vec<Request>>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let path = first.next().unwrap_or_default().to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let request = Request {
        method,
        path,
        headers,
    };
    requests.lock().expect("lock").push(request.clone());
    let response = handler(&request);
    let reason = match response.status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Status",
    };
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\nConnection: close\r\nContent-Length: {}\r\n",
        response.status,
        response.body.len()
    );
    for (name, value) in &response.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let _ = stream.write_all(out.as_bytes());
    if request.method != "HEAD" {
        let _ = stream.write_all(&response.body);
    }
    let _ = stream.flush();
}
