//! The registry client: one `oci-client` client per host, credentials, retries, mirrors,
//! and resolving a reference to a platform's image.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use crossbuild::Platform;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_spec::image::{Descriptor, ImageManifest};

use super::config::RegistryConfig;
use super::credentials::{CredentialError, Credentials, DockerConfig};
use super::manifest::{is_image_manifest, ManifestError, Parsed, RawManifest, ACCEPTED};
use super::platform::{compatible_platforms, descriptor_platform, select_manifest, PlatformError};
use super::pull::{read_small_blob, DownloadFailure};
use super::reference::ImageRef;

/// Largest image config crossdock reads into memory.
const MAX_CONFIG_SIZE: u64 = 16 << 20;

/// The `User-Agent` of every request.
const USER_AGENT: &str = concat!("crossdock/", env!("CARGO_PKG_VERSION"));

/// A pull or resolve failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Credentials for the registry could not be read.
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// A request failed (after retries, when it was worth retrying).
    #[error("cannot {action} {reference}: {reason}{hint}")]
    Request {
        /// What was being done, e.g. `fetch the manifest of`.
        action: &'static str,
        /// The reference or blob involved.
        reference: String,
        /// The error, with its causes.
        reason: String,
        /// What to do about it, starting with `; `, or empty.
        hint: String,
    },
    /// The registry returned a manifest crossdock cannot use.
    #[error("{reference}: {source}")]
    Manifest {
        /// The reference.
        reference: String,
        /// What is wrong with it.
        source: ManifestError,
    },
    /// No manifest fits the requested platform.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// A blob's content did not match its descriptor (from every source tried).
    #[error("{reference}: {source}")]
    Verify {
        /// Where the blob was fetched from.
        reference: String,
        /// The mismatch.
        source: super::verify::VerifyError,
    },
    /// The local sink could not store a blob.
    #[error("cannot store blob {digest} ({size} bytes) locally: {source}")]
    Sink {
        /// The blob.
        digest: String,
        /// Its size.
        size: u64,
        /// The sink's error.
        source: std::io::Error,
    },
    /// The image config is bigger than crossdock reads into memory.
    #[error("the config blob {digest} of {reference} is {size} bytes, more than the {max} crossdock accepts")]
    ConfigTooLarge {
        /// The image.
        reference: String,
        /// The config's digest.
        digest: String,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
}

/// A client for one host, with the credentials it was created with.
pub(crate) struct HostClient {
    pub(crate) client: oci_client::Client,
    pub(crate) auth: RegistryAuth,
}

/// Talks to registries: resolves references, pulls blobs into a
/// [`BlobSink`](super::BlobSink), pushes images from a [`BlobSource`](super::BlobSource).
///
/// One `Registry` is meant to be shared by a whole build: it keeps one HTTP client (with its
/// connection pool and bearer-token cache) per host, and asks for each registry's
/// credentials once.
pub struct Registry {
    config: RegistryConfig,
    credentials: DockerConfig,
    clients: tokio::sync::Mutex<HashMap<String, Arc<HostClient>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("config", &self.config)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// The image for one platform, as found in a registry: what a pull needs, before any layer
/// is fetched. [`blobs`](Self::blobs) lists what the pull will write, so a caller can see
/// what it already has.
#[derive(Clone, Debug)]
pub struct ResolvedImage {
    reference: ImageRef,
    sources: Vec<ImageRef>,
    index: Option<RawManifest>,
    manifest: RawManifest,
    image: ImageManifest,
    config: Bytes,
    platform: Platform,
}

impl ResolvedImage {
    /// The reference that was resolved, as given.
    pub fn reference(&self) -> &ImageRef {
        &self.reference
    }

    /// Where the content is fetched from, best first: the mirror or registry that served the
    /// manifest, then the others.
    pub fn sources(&self) -> &[ImageRef] {
        &self.sources
    }

    /// The index the manifest was chosen from, when the reference named an index.
    pub fn index(&self) -> Option<&RawManifest> {
        self.index.as_ref()
    }

    /// The platform's image manifest, as stored.
    pub fn manifest(&self) -> &RawManifest {
        &self.manifest
    }

    /// The image manifest, parsed.
    pub fn image_manifest(&self) -> &ImageManifest {
        &self.image
    }

    /// The image config JSON (already fetched and verified).
    pub fn config(&self) -> &Bytes {
        &self.config
    }

    /// The image's platform, from its config.
    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    /// The digest that identifies the image as referenced: the index's when there is one,
    /// else the manifest's.
    pub fn digest(&self) -> &str {
        self.index.as_ref().unwrap_or(&self.manifest).digest()
    }

    /// Every piece of content of the image, in the order a pull writes it: layers, config,
    /// manifest, then the index (so a store never holds a manifest without its blobs).
    /// Duplicates are listed once.
    pub fn blobs(&self) -> Vec<Descriptor> {
        let mut all: Vec<Descriptor> = self.image.layers().clone();
        all.push(self.image.config().clone());
        all.push(self.manifest.descriptor().clone());
        all.extend(self.index.as_ref().map(|i| i.descriptor().clone()));
        let mut seen = std::collections::HashSet::new();
        all.retain(|d| seen.insert(d.digest().to_string()));
        all
    }
}

impl Registry {
    /// A client with these settings and credentials.
    pub fn new(config: RegistryConfig, credentials: DockerConfig) -> Self {
        Self {
            config,
            credentials,
            clients: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The settings.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// The client for the host of `reference`, created (and its credentials looked up) on
    /// first use.
    pub(crate) async fn host_client(
        &self,
        reference: &ImageRef,
    ) -> Result<Arc<HostClient>, CredentialError> {
        let host = reference.host().to_owned();
        let mut clients = self.clients.lock().await;
        if let Some(client) = clients.get(&host) {
            return Ok(client.clone());
        }
        let auth = match self
            .credentials
            .credentials_for(reference.registry())
            .await?
        {
            Credentials::Anonymous => RegistryAuth::Anonymous,
            Credentials::Basic { username, password } => {
                RegistryAuth::Basic(username, password.expose().to_owned())
            }
            Credentials::Bearer(token) => RegistryAuth::Bearer(token.expose().to_owned()),
        };
        let protocol = if self.config.is_plain_http(&host) {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
        let client = oci_client::Client::new(ClientConfig {
            protocol,
            platform_resolver: None,
            use_monolithic_push: self.config.monolithic_upload,
            connect_timeout: Some(Duration::from_secs(15)),
            read_timeout: Some(Duration::from_secs(120)),
            user_agent: USER_AGENT,
            ..ClientConfig::default()
        });
        client.store_auth_if_needed(&host, &auth).await;
        let client = Arc::new(HostClient { client, auth });
        clients.insert(host, client.clone());
        Ok(client)
    }

    /// Runs `op` until it succeeds, fails for good, or the retry policy is used up;
    /// `on_retry` hears of each failed attempt that will be retried.
    pub(crate) async fn retry<T, F, Fut>(
        &self,
        mut op: F,
        mut on_retry: impl FnMut(u32, &OciDistributionError),
    ) -> Result<T, (OciDistributionError, u32)>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        let attempts = self.config.retry.attempts();
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(value) => return Ok(value),
                Err(e) if attempt < attempts && is_retryable(&e) => {
                    on_retry(attempt, &e);
                    tokio::time::sleep(self.config.retry.backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err((e, attempt)),
            }
        }
    }

    /// Where to pull `reference` from: its mirrors in order, then the registry itself.
    pub(crate) fn pull_sources(&self, reference: &ImageRef) -> Vec<ImageRef> {
        let mut sources: Vec<ImageRef> = self
            .config
            .mirrors_for(reference.registry())
            .iter()
            .map(|mirror| reference.with_registry(mirror))
            .collect();
        sources.push(reference.clone());
        sources
    }

    /// Fetches the manifest or index `reference` names, trying mirrors first. Returns the
    /// source that answered (moved to the front of the list) and the content, verified
    /// against the reference's digest when it has one.
    pub async fn resolve(
        &self,
        reference: &ImageRef,
    ) -> Result<(Vec<ImageRef>, RawManifest), RegistryError> {
        let mut sources = self.pull_sources(reference);
        let mut failures = Vec::new();
        for (i, source) in sources.iter().enumerate() {
            match self.fetch_manifest(source).await {
                Ok(raw) => {
                    let chosen = sources.remove(i);
                    sources.insert(0, chosen);
                    return Ok((sources, raw));
                }
                Err(e) if i + 1 < sources.len() => failures.push(format!("{source}: {e}")),
                Err(RegistryError::Request {
                    action,
                    reference,
                    reason,
                    hint,
                }) if !failures.is_empty() => {
                    return Err(RegistryError::Request {
                        action,
                        reference,
                        reason: format!("{reason} (mirrors failed too: {})", failures.join("; ")),
                        hint,
                    })
                }
                Err(e) => return Err(e),
            }
        }
        // `sources` always holds the reference itself, so the loop returned.
        Err(RegistryError::Request {
            action: "resolve",
            reference: reference.to_string(),
            reason: "no source to fetch from".into(),
            hint: String::new(),
        })
    }

    /// Fetches one manifest from one source, with retries.
    async fn fetch_manifest(&self, source: &ImageRef) -> Result<RawManifest, RegistryError> {
        let host = self.host_client(source).await?;
        let (bytes, _) = self
            .retry(
                || {
                    host.client
                        .pull_manifest_raw(source.as_oci(), &host.auth, ACCEPTED)
                },
                |_, _| {},
            )
            .await
            .map_err(|(e, attempts)| {
                self.request_error("fetch the manifest of", source, &e, attempts)
            })?;
        let raw = RawManifest::new(bytes).map_err(|e| RegistryError::Manifest {
            reference: source.to_string(),
            source: e,
        })?;
        if let Some(pinned) = source.digest() {
            if pinned != raw.digest() {
                return Err(RegistryError::Manifest {
                    reference: source.to_string(),
                    source: ManifestError::new(
                        raw.digest(),
                        format!("the registry returned it for {pinned}"),
                    ),
                });
            }
        }
        Ok(raw)
    }

    /// Resolves `reference` to the image for `platform`: fetches the manifest or index,
    /// picks the platform's manifest with containerd's rules
    /// ([`select_manifest`](super::select_manifest)), fetches that manifest and the image
    /// config. A single-platform image must be for a compatible platform.
    pub async fn resolve_image(
        &self,
        reference: &ImageRef,
        platform: &Platform,
    ) -> Result<ResolvedImage, RegistryError> {
        let (sources, top) = self.resolve(reference).await?;
        let (index, manifest) =
            match top.parsed() {
                Parsed::Image(_) => (None, top),
                Parsed::Index(index) => {
                    let chosen = select_manifest(index, platform, &reference.to_string())?;
                    if !is_image_manifest(chosen) {
                        return Err(RegistryError::Manifest {
                            reference: reference.to_string(),
                            source: ManifestError::new(
                                chosen.digest().to_string(),
                                format!(
                                    "the entry for {platform} is a {}, not an image manifest",
                                    chosen.media_type()
                                ),
                            ),
                        });
                    }
                    let by_digest = sources[0].with_digest(chosen.digest().as_ref());
                    let fetched = self.fetch_manifest(&by_digest).await?;
                    let raw = RawManifest::with_descriptor(fetched.bytes().clone(), chosen)
                        .map_err(|e| RegistryError::Manifest {
                            reference: by_digest.to_string(),
                            source: e,
                        })?;
                    (Some(top), raw)
                }
            };
        let Parsed::Image(image) = manifest.parsed().clone() else {
            return Err(RegistryError::Manifest {
                reference: reference.to_string(),
                source: ManifestError::new(
                    manifest.digest(),
                    "an index entry points at another index",
                ),
            });
        };
        let config_descriptor = image.config().clone();
        if config_descriptor.size() > MAX_CONFIG_SIZE {
            return Err(RegistryError::ConfigTooLarge {
                reference: reference.to_string(),
                digest: config_descriptor.digest().to_string(),
                size: config_descriptor.size(),
                max: MAX_CONFIG_SIZE,
            });
        }
        let config = self.fetch_small(&sources, &config_descriptor).await?;
        let config_platform =
            config_platform(&config).map_err(|reason| RegistryError::Manifest {
                reference: reference.to_string(),
                source: ManifestError::new(config_descriptor.digest().to_string(), reason),
            })?;
        let image_platform = match &index {
            Some(_) => descriptor_platform(manifest.descriptor()).unwrap_or(config_platform),
            None => {
                let fits = compatible_platforms(platform).iter().any(|p| {
                    p.os() == config_platform.os()
                        && p.arch() == config_platform.arch()
                        && p.variant() == config_platform.variant()
                });
                if !fits {
                    return Err(PlatformError::Mismatch {
                        image: reference.to_string(),
                        wanted: platform.to_string(),
                        found: config_platform.to_string(),
                    }
                    .into());
                }
                config_platform
            }
        };
        Ok(ResolvedImage {
            reference: reference.clone(),
            sources,
            index,
            manifest,
            image: *image,
            config,
            platform: image_platform,
        })
    }

    /// Fetches a small blob into memory, verified, trying each source.
    async fn fetch_small(
        &self,
        sources: &[ImageRef],
        descriptor: &Descriptor,
    ) -> Result<Bytes, RegistryError> {
        let mut last = None;
        let oci = oci_descriptor(descriptor);
        for source in sources {
            let host = self.host_client(source).await?;
            let attempt = self
                .retry(
                    || host.client.pull_blob_stream(source.as_oci(), &oci),
                    |_, _| {},
                )
                .await;
            let stream = match attempt {
                Ok(stream) => stream,
                Err((e, attempts)) => {
                    last = Some(self.request_error("fetch blob from", source, &e, attempts));
                    continue;
                }
            };
            match read_small_blob(stream.stream, descriptor).await {
                Ok(bytes) => return Ok(bytes),
                Err(DownloadFailure::Verify(e)) => {
                    last = Some(RegistryError::Verify {
                        reference: source.to_string(),
                        source: e,
                    })
                }
                Err(DownloadFailure::Transport(reason)) | Err(DownloadFailure::Sink(reason)) => {
                    last = Some(RegistryError::Request {
                        action: "fetch blob from",
                        reference: source.to_string(),
                        reason: format!("{}: {reason}", descriptor.digest()),
                        hint: String::new(),
                    })
                }
            }
        }
        Err(last.unwrap_or_else(|| RegistryError::Request {
            action: "fetch blob from",
            reference: descriptor.digest().to_string(),
            reason: "no source to fetch from".into(),
            hint: String::new(),
        }))
    }

    /// Whether the repository of `reference` holds the blob `digest` (a `HEAD` request).
    pub async fn blob_exists(
        &self,
        reference: &ImageRef,
        digest: &str,
    ) -> Result<bool, RegistryError> {
        let host = self.host_client(reference).await?;
        self.retry(
            || host.client.blob_exists(reference.as_oci(), digest),
            |_, _| {},
        )
        .await
        .map_err(|(e, attempts)| self.request_error("check for a blob in", reference, &e, attempts))
    }

    /// What to do about a failed request to `reference`, starting with `; `.
    pub(crate) fn hint(&self, error: &OciDistributionError, reference: &ImageRef) -> String {
        hint_for(
            error,
            reference,
            self.config.is_plain_http(reference.host()),
        )
    }

    /// A [`RegistryError::Request`] for a failed request.
    pub(crate) fn request_error(
        &self,
        action: &'static str,
        reference: &ImageRef,
        error: &OciDistributionError,
        attempts: u32,
    ) -> RegistryError {
        let mut reason = error_chain(error);
        if attempts > 1 {
            reason = format!("{reason} (after {attempts} attempts)");
        }
        RegistryError::Request {
            action,
            reference: reference.to_string(),
            reason,
            hint: self.hint(error, reference),
        }
    }
}

/// The platform an image config declares.
fn config_platform(config: &[u8]) -> Result<Platform, String> {
    let value: serde_json::Value =
        serde_json::from_slice(config).map_err(|e| format!("the image config is not JSON: {e}"))?;
    let field = |name: &str| value.get(name).and_then(serde_json::Value::as_str);
    let (Some(os), Some(arch)) = (field("os"), field("architecture")) else {
        return Err("the image config has no os or architecture".into());
    };
    Platform::from_parts(os, arch, field("variant"), field("os.version"))
        .map_err(|e| format!("the image config's platform: {e}"))
}

/// The `oci-client` form of a descriptor.
pub(crate) fn oci_descriptor(descriptor: &Descriptor) -> OciDescriptor {
    OciDescriptor {
        media_type: descriptor.media_type().to_string(),
        digest: descriptor.digest().to_string(),
        size: i64::try_from(descriptor.size()).unwrap_or(i64::MAX),
        urls: descriptor.urls().clone(),
        annotations: None,
        artifact_type: None,
    }
}

/// Whether a failed request may succeed when tried again: 5xx, 408 and 429 statuses,
/// connection failures, resets and timeouts.
pub(crate) fn is_retryable(error: &OciDistributionError) -> bool {
    match error {
        OciDistributionError::ServerError { code, .. } => {
            *code >= 500 || *code == 408 || *code == 429
        }
        OciDistributionError::RequestError(e) => match e.status() {
            Some(status) => {
                status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429
            }
            None => {
                e.is_connect() || e.is_timeout() || e.is_request() || e.is_body() || e.is_decode()
            }
        },
        OciDistributionError::IoError(e) => is_transient_io(e),
        _ => false,
    }
}

/// I/O errors that a new connection may cure.
pub(crate) fn is_transient_io(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::ConnectionReset
            | K::ConnectionAborted
            | K::ConnectionRefused
            | K::BrokenPipe
            | K::UnexpectedEof
            | K::TimedOut
    )
}

/// An error and all its causes, `: `-separated.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = without_queries(&error.to_string());
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = without_queries(&cause.to_string());
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Drops the query of URLs quoted as `(… url (http://…?query))`: upload URLs carry long
/// opaque state that only clutters messages.
fn without_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("url (") {
        let (head, url) = rest.split_at(start + "url (".len());
        out.push_str(head);
        let end = url.find(')').unwrap_or(url.len());
        let (quoted, tail) = url.split_at(end);
        out.push_str(quoted.split('?').next().unwrap_or(quoted));
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// What to do about a failed request, starting with `; `.
pub(crate) fn hint_for(
    error: &OciDistributionError,
    reference: &ImageRef,
    plain_http: bool,
) -> String {
    let registry = reference.registry();
    let status = match error {
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => Some(401),
        OciDistributionError::ServerError { code, .. } => Some(*code),
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<String> = envelope
                .errors
                .iter()
                .map(|e| format!("{:?}", e.code))
                .collect();
            if codes.iter().any(|c| c == "Unauthorized" || c == "Denied") {
                Some(401)
            } else if codes.iter().any(|c| c.contains("Unknown")) {
                Some(404)
            } else {
                None
            }
        }
        OciDistributionError::RequestError(e) => e
            .status()
            .map(|s| s.as_u16())
            .or(e.is_connect().then_some(0)),
        _ => None,
    };
    match status {
        Some(401 | 403) => format!(
            "; the registry refused the credentials (or their absence): log in with `docker login {registry}` \
             (crossdock reads ~/.docker/config.json and its credential helpers)"
        ),
        Some(404) => "; check the repository name and tag, and that you may read it".into(),
        Some(0) if plain_http => "; is the registry running and reachable?".into(),
        Some(0) => format!(
            "; is the registry running and reachable? If it serves plain http, list it in \
             insecure-registries ({registry})"
        ),
        Some(code) if code >= 500 => "; the registry failed: try again later".into(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_errors() {
        let server = |code| OciDistributionError::ServerError {
            code,
            url: "u".into(),
            message: String::new(),
        };
        assert!(is_retryable(&server(500)));
        assert!(is_retryable(&server(503)));
        assert!(is_retryable(&server(429)));
        assert!(!is_retryable(&server(404)));
        assert!(!is_retryable(&server(400)));
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(is_retryable(&OciDistributionError::IoError(reset)));
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(!is_retryable(&OciDistributionError::IoError(denied)));
        assert!(!is_retryable(&OciDistributionError::UnauthorizedError {
            url: "u".into()
        }));
    }

    #[test]
    fn config_platforms() {
        let p = config_platform(br#"{"os":"linux","architecture":"arm","variant":"v6"}"#)
            .expect("valid");
        assert_eq!(p.to_string(), "linux/arm/v6");
        let p = config_platform(br#"{"os":"linux","architecture":"aarch64","variant":"v8"}"#)
            .expect("valid");
        assert_eq!(p.to_string(), "linux/arm64");
        assert!(config_platform(br#"{"os":"linux"}"#).is_err());
        assert!(config_platform(b"[").is_err());
    }

    #[test]
    fn messages_leave_out_upload_state() {
        let text =
            "error sending request for url (http://h:1/v2/r/blobs/uploads/u?_state=abc%3D): closed";
        assert_eq!(
            without_queries(text),
            "error sending request for url (http://h:1/v2/r/blobs/uploads/u): closed"
        );
        assert_eq!(without_queries("no url here"), "no url here");
        assert_eq!(without_queries("url (unterminated?x"), "url (unterminated");
    }

    #[test]
    fn hints_say_what_to_do() {
        let r = ImageRef::parse("ghcr.io/o/a").expect("valid");
        let hint = hint_for(
            &OciDistributionError::UnauthorizedError { url: "u".into() },
            &r,
            false,
        );
        assert!(hint.contains("docker login ghcr.io"), "{hint}");
        let hint = hint_for(
            &OciDistributionError::ServerError {
                code: 502,
                url: "u".into(),
                message: String::new(),
            },
            &r,
            false,
        );
        assert!(hint.contains("try again later"), "{hint}");
    }
}
