//! Image assembly: the config, manifest and multi-platform index of an image, built with
//! oci-spec's types, serialised once as canonical JSON and written into the [`Store`].
//!
//! Same inputs give the same bytes, so the same digests: JSON object keys are sorted
//! (oci-spec keeps labels, annotations, ports and volumes in hash maps), and nothing
//! depends on the clock when a SOURCE_DATE_EPOCH value is given.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

use crossbuild::Platform;
use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, Digest, HistoryBuilder, ImageConfigurationBuilder,
    ImageIndexBuilder, ImageManifestBuilder, MediaType, Os, PlatformBuilder, RootFsBuilder,
};
use serde_json::{Map, Value};

use crate::layer::Layer;
use crate::registry::{ManifestError, PushError, PushPlan, RawManifest};
use crate::store::{Store, StoreError};

/// `org.opencontainers.image.created`.
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// `org.opencontainers.image.base.name`.
pub const ANNOTATION_BASE_NAME: &str = "org.opencontainers.image.base.name";
/// `org.opencontainers.image.base.digest`.
pub const ANNOTATION_BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";

/// Which family of media types an image and its index use. Never mixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MediaTypes {
    /// OCI image-spec types (the default).
    #[default]
    Oci,
    /// Docker distribution manifest v2.2 types (no zstd layers, no annotations).
    Docker,
}

impl MediaTypes {
    /// The media type of an image manifest.
    pub fn manifest(self) -> MediaType {
        match self {
            MediaTypes::Oci => MediaType::ImageManifest,
            MediaTypes::Docker => MediaType::Other(DOCKER_MANIFEST.into()),
        }
    }

    /// The media type of an index (Docker: a manifest list).
    pub fn index(self) -> MediaType {
        match self {
            MediaTypes::Oci => MediaType::ImageIndex,
            MediaTypes::Docker => MediaType::Other(DOCKER_LIST.into()),
        }
    }

    /// The media type of an image config.
    pub fn config(self) -> MediaType {
        match self {
            MediaTypes::Oci => MediaType::ImageConfig,
            MediaTypes::Docker => MediaType::Other(DOCKER_CONFIG.into()),
        }
    }

    /// The media type a layer gets in this family, or `None` if the family cannot carry it.
    fn layer(self, layer: &MediaType) -> Option<MediaType> {
        match (self, layer) {
            (MediaTypes::Oci, t) => Some(t.clone()),
            (MediaTypes::Docker, MediaType::ImageLayerGzip) => {
                Some(MediaType::Other(DOCKER_LAYER_GZIP.into()))
            }
            (MediaTypes::Docker, MediaType::ImageLayer) => {
                Some(MediaType::Other(DOCKER_LAYER_TAR.into()))
            }
            (MediaTypes::Docker, MediaType::Other(t))
                if t == DOCKER_LAYER_GZIP || t == DOCKER_LAYER_TAR =>
            {
                Some(layer.clone())
            }
            (MediaTypes::Docker, _) => None,
        }
    }
}

/// Errors from image assembly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// A layer's media type has no Docker v2.2 equivalent (zstd).
    #[error(
        "layer {digest} has media type {media_type}, which Docker v2.2 manifests cannot carry; \
         use OCI media types or gzip compression"
    )]
    LayerNotDocker {
        /// The layer.
        digest: Digest,
        /// Its media type.
        media_type: MediaType,
    },
    /// Annotations were asked for with Docker media types, which have none.
    #[error(
        "Docker v2.2 manifests and lists cannot carry annotations ({key}); use OCI media types"
    )]
    AnnotationsNotDocker {
        /// The first annotation refused.
        key: String,
    },
    /// The images given to an index do not all use the same media types.
    #[error("cannot mix media types in one index: {first} uses {first_types:?}, {other} uses {other_types:?}")]
    MixedMediaTypes {
        /// The first image's platform.
        first: String,
        /// Its media types.
        first_types: MediaTypes,
        /// The platform of an image using other types.
        other: String,
        /// Its media types.
        other_types: MediaTypes,
    },
    /// Two images given to an index have the same platform.
    #[error("two images for platform {0} in one index")]
    DuplicatePlatform(String),
    /// An index needs at least one image.
    #[error("an index needs at least one image")]
    EmptyIndex,
    /// oci-spec refused to build or serialise a document.
    #[error("cannot build the image {what}: {message}")]
    Spec {
        /// `config`, `manifest` or `index`.
        what: &'static str,
        /// What oci-spec said.
        message: String,
    },
    /// The bytes written do not parse back as a manifest (a bug).
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The store refused a blob.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn spec_err(what: &'static str) -> impl FnOnce(oci_spec::OciSpecError) -> ImageError {
    move |e| ImageError::Spec {
        what,
        message: e.to_string(),
    }
}

/// The runtime settings of an image config (Dockerfile `ENV`, `CMD`, `ENTRYPOINT`, ...).
/// Empty fields are left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// `KEY=value` entries, in order.
    pub env: Vec<String>,
    /// Default command (`CMD`).
    pub cmd: Option<Vec<String>>,
    /// Entry point (`ENTRYPOINT`).
    pub entrypoint: Option<Vec<String>>,
    /// Working directory (`WORKDIR`).
    pub working_dir: Option<String>,
    /// User (`USER`).
    pub user: Option<String>,
    /// Labels (`LABEL`).
    pub labels: BTreeMap<String, String>,
    /// Exposed ports, `80/tcp` (`EXPOSE`).
    pub exposed_ports: BTreeSet<String>,
    /// Volumes (`VOLUME`).
    pub volumes: BTreeSet<String>,
    /// Stop signal (`STOPSIGNAL`).
    pub stop_signal: Option<String>,
    /// Shell for shell-form commands (`SHELL`; Docker's `Shell` key, which BuildKit writes).
    pub shell: Option<Vec<String>>,
    /// Health check (`HEALTHCHECK`; Docker's `Healthcheck` key).
    pub healthcheck: Option<Healthcheck>,
    /// Triggers for images built `FROM` this one (`ONBUILD`; Docker's `OnBuild` key).
    pub on_build: Vec<String>,
    /// The image's author (`MAINTAINER`; the config's top-level `author`).
    pub author: Option<String>,
}

/// A container health check, as Docker's image config holds it (durations in
/// nanoseconds, zero meaning "inherit the default").
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Healthcheck {
    /// `["CMD", args...]`, `["CMD-SHELL", command]` or `["NONE"]`.
    #[serde(rename = "Test")]
    pub test: Vec<String>,
    /// `--interval`.
    #[serde(rename = "Interval", default, skip_serializing_if = "is_zero")]
    pub interval: u64,
    /// `--timeout`.
    #[serde(rename = "Timeout", default, skip_serializing_if = "is_zero")]
    pub timeout: u64,
    /// `--start-period`.
    #[serde(rename = "StartPeriod", default, skip_serializing_if = "is_zero")]
    pub start_period: u64,
    /// `--start-interval`.
    #[serde(rename = "StartInterval", default, skip_serializing_if = "is_zero")]
    pub start_interval: u64,
    /// `--retries`.
    #[serde(rename = "Retries", default, skip_serializing_if = "is_zero")]
    pub retries: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One step of the image's history, as `docker history` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HistoryEntry {
    created_by: Option<String>,
    comment: Option<String>,
    empty_layer: bool,
}

/// Builds one platform's image: its config and manifest, written into the store.
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    platform: Platform,
    layers: Vec<Layer>,
    history: Vec<HistoryEntry>,
    config: ImageConfig,
    media_types: MediaTypes,
    source_date_epoch: Option<u64>,
    annotations: BTreeMap<String, String>,
    base: Option<(String, Digest)>,
}

impl ImageBuilder {
    /// An image for `platform`, with no layers yet.
    pub fn new(platform: Platform) -> Self {
        Self {
            platform,
            layers: Vec::new(),
            history: Vec::new(),
            config: ImageConfig::default(),
            media_types: MediaTypes::Oci,
            source_date_epoch: None,
            annotations: BTreeMap::new(),
            base: None,
        }
    }

    /// Appends a layer (applied after the previous ones), with a history entry.
    pub fn layer(self, layer: Layer) -> Self {
        self.layer_created_by(layer, None::<String>)
    }

    /// Appends a layer with the history entry's `created_by` (the step that made it).
    pub fn layer_created_by(mut self, layer: Layer, created_by: Option<impl Into<String>>) -> Self {
        self.layers.push(layer);
        self.history.push(HistoryEntry {
            created_by: created_by.map(Into::into),
            comment: None,
            empty_layer: false,
        });
        self
    }

    /// Sets the comment of the last history entry (BuildKit writes
    /// `buildkit.dockerfile.v0` on every step).
    pub fn history_comment(mut self, comment: impl Into<String>) -> Self {
        if let Some(last) = self.history.last_mut() {
            last.comment = Some(comment.into());
        }
        self
    }

    /// Records a step that changed only metadata (an `empty_layer` history entry).
    pub fn empty_step(mut self, created_by: impl Into<String>) -> Self {
        self.history.push(HistoryEntry {
            created_by: Some(created_by.into()),
            comment: None,
            empty_layer: true,
        });
        self
    }

    /// The runtime settings.
    pub fn config(mut self, config: ImageConfig) -> Self {
        self.config = config;
        self
    }

    /// OCI (default) or Docker v2.2 media types.
    pub fn media_types(mut self, media_types: MediaTypes) -> Self {
        self.media_types = media_types;
        self
    }

    /// A SOURCE_DATE_EPOCH value (seconds): the `created` time of the config, its history
    /// and the `created` annotation. Without one, the current time is used.
    pub fn source_date_epoch(mut self, epoch: Option<u64>) -> Self {
        self.source_date_epoch = epoch;
        self
    }

    /// Adds a manifest annotation (OCI media types only).
    pub fn annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// The base image (its fully qualified reference and manifest digest), recorded in the
    /// `base.name` / `base.digest` annotations (OCI media types only).
    pub fn base(mut self, name: impl Into<String>, digest: Digest) -> Self {
        self.base = Some((name.into(), digest));
        self
    }

    /// Serialises the config and the manifest and writes both into the store (the layers
    /// must already be there).
    pub fn write(&self, store: &Store) -> Result<Image, ImageError> {
        let created = rfc3339(self.source_date_epoch.unwrap_or_else(now));
        let types = self.media_types;

        let mut layers = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let media_type =
                types
                    .layer(&layer.media_type)
                    .ok_or_else(|| ImageError::LayerNotDocker {
                        digest: layer.digest.clone(),
                        media_type: layer.media_type.clone(),
                    })?;
            layers.push(Descriptor::new(
                media_type,
                layer.size,
                layer.digest.clone(),
            ));
        }

        let config_bytes = canonical_json(&self.config_json(&created)?, "config")?;
        let config_blob = write_blob(store, &config_bytes)?;
        let config = config_blob.descriptor(types.config());

        let mut annotations = BTreeMap::new();
        if types == MediaTypes::Oci {
            annotations.insert(ANNOTATION_CREATED.to_owned(), created.clone());
            if let Some((name, digest)) = &self.base {
                annotations.insert(ANNOTATION_BASE_NAME.to_owned(), name.clone());
                annotations.insert(ANNOTATION_BASE_DIGEST.to_owned(), digest.to_string());
            }
            annotations.extend(self.annotations.clone());
        } else if let Some(key) = self.annotations.keys().next() {
            return Err(ImageError::AnnotationsNotDocker { key: key.clone() });
        }

        let mut manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(types.manifest())
            .config(config.clone())
            .layers(layers.clone());
        if !annotations.is_empty() {
            manifest = manifest.annotations(annotations.into_iter().collect::<HashMap<_, _>>());
        }
        let manifest = manifest.build().map_err(spec_err("manifest"))?;
        let manifest_bytes = canonical_json(&manifest, "manifest")?;
        let manifest_blob = write_blob(store, &manifest_bytes)?;
        let mut descriptor = manifest_blob.descriptor(types.manifest());
        descriptor.set_platform(Some(oci_platform(&self.platform)?));

        Ok(Image {
            platform: self.platform.clone(),
            media_types: types,
            manifest: descriptor,
            config,
            layers,
            manifest_bytes,
            config_bytes,
        })
    }

    /// The config document: oci-spec's, plus the Docker keys BuildKit also writes
    /// (`Shell`, `Healthcheck`, `OnBuild`) that oci-spec has no fields for.
    fn config_json(&self, created: &str) -> Result<Value, ImageError> {
        let doc = self.image_configuration(created)?;
        let mut value = serde_json::to_value(&doc).map_err(|e| ImageError::Spec {
            what: "config",
            message: e.to_string(),
        })?;
        let c = &self.config;
        if let Some(Value::Object(top)) = Some(&mut value) {
            if let Some(author) = &c.author {
                top.insert("author".into(), Value::String(author.clone()));
            }
            let extra = c.shell.is_some() || c.healthcheck.is_some() || !c.on_build.is_empty();
            if extra && !top.contains_key("config") {
                top.insert("config".into(), Value::Object(Map::new()));
            }
            if let Some(Value::Object(cfg)) = top.get_mut("config") {
                if let Some(shell) = &c.shell {
                    cfg.insert("Shell".into(), serde_json::json!(shell));
                }
                if let Some(h) = &c.healthcheck {
                    cfg.insert("Healthcheck".into(), serde_json::json!(h));
                }
                if !c.on_build.is_empty() {
                    cfg.insert("OnBuild".into(), serde_json::json!(c.on_build));
                }
            }
        }
        Ok(value)
    }

    fn image_configuration(
        &self,
        created: &str,
    ) -> Result<oci_spec::image::ImageConfiguration, ImageError> {
        let c = &self.config;
        let mut rc = ConfigBuilder::default();
        if !c.env.is_empty() {
            rc = rc.env(c.env.clone());
        }
        if let Some(cmd) = &c.cmd {
            rc = rc.cmd(cmd.clone());
        }
        if let Some(entrypoint) = &c.entrypoint {
            rc = rc.entrypoint(entrypoint.clone());
        }
        if let Some(dir) = &c.working_dir {
            rc = rc.working_dir(dir.clone());
        }
        if let Some(user) = &c.user {
            rc = rc.user(user.clone());
        }
        if !c.labels.is_empty() {
            rc = rc.labels(c.labels.clone().into_iter().collect::<HashMap<_, _>>());
        }
        if !c.exposed_ports.is_empty() {
            rc = rc.exposed_ports(c.exposed_ports.iter().cloned().collect::<Vec<_>>());
        }
        if !c.volumes.is_empty() {
            rc = rc.volumes(c.volumes.iter().cloned().collect::<Vec<_>>());
        }
        if let Some(signal) = &c.stop_signal {
            rc = rc.stop_signal(signal.clone());
        }
        let runtime = rc.build().map_err(spec_err("config"))?;

        let rootfs = RootFsBuilder::default()
            .typ("layers")
            .diff_ids(
                self.layers
                    .iter()
                    .map(|l| l.diff_id.to_string())
                    .collect::<Vec<_>>(),
            )
            .build()
            .map_err(spec_err("config"))?;
        let history = self
            .history
            .iter()
            .map(|h| {
                let mut b = HistoryBuilder::default().created(created.to_owned());
                if let Some(by) = &h.created_by {
                    b = b.created_by(by.clone());
                }
                if let Some(comment) = &h.comment {
                    b = b.comment(comment.clone());
                }
                if h.empty_layer {
                    b = b.empty_layer(true);
                }
                b.build().map_err(spec_err("config"))
            })
            .collect::<Result<Vec<_>, _>>()?;

        let mut b = ImageConfigurationBuilder::default()
            .created(created.to_owned())
            .architecture(Arch::from(self.platform.arch()))
            .os(Os::from(self.platform.os()))
            .config(runtime)
            .rootfs(rootfs)
            .history(history);
        if let Some(variant) = self.platform.variant() {
            b = b.variant(variant.to_owned());
        }
        if let Some(version) = self.platform.os_version() {
            b = b.os_version(version.to_owned());
        }
        b.build().map_err(spec_err("config"))
    }
}

/// One platform's image as written into the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Its platform.
    pub platform: Platform,
    /// Its media types.
    pub media_types: MediaTypes,
    /// The manifest's descriptor, with its platform (as an index lists it).
    pub manifest: Descriptor,
    /// The config's descriptor.
    pub config: Descriptor,
    /// The layers' descriptors, in order.
    pub layers: Vec<Descriptor>,
    /// The manifest JSON, exactly as stored.
    pub manifest_bytes: Vec<u8>,
    /// The config JSON, exactly as stored.
    pub config_bytes: Vec<u8>,
}

impl Image {
    /// The manifest for a push ([`PushPlan::image`]), same bytes, same digest.
    pub fn raw_manifest(&self) -> Result<RawManifest, ImageError> {
        Ok(RawManifest::with_descriptor(
            self.manifest_bytes.clone(),
            &self.manifest,
        )?)
    }

    /// What to push to publish this image alone.
    pub fn push_plan(&self) -> Result<PushPlan, PushError> {
        let raw = RawManifest::with_descriptor(self.manifest_bytes.clone(), &self.manifest)?;
        PushPlan::image(raw)
    }
}

/// Builds a multi-platform index of images already written.
#[derive(Debug, Clone, Default)]
pub struct IndexBuilder {
    images: Vec<Image>,
    source_date_epoch: Option<u64>,
    annotations: BTreeMap<String, String>,
}

impl IndexBuilder {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an image; entries keep the order they are added in.
    pub fn manifest(mut self, image: Image) -> Self {
        self.images.push(image);
        self
    }

    /// A SOURCE_DATE_EPOCH value (seconds) for the index's `created` annotation; without
    /// one, the current time is used.
    pub fn source_date_epoch(mut self, epoch: Option<u64>) -> Self {
        self.source_date_epoch = epoch;
        self
    }

    /// Adds an index annotation (OCI media types only).
    pub fn annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// Serialises the index (OCI index or Docker manifest list, as its images) and writes
    /// it into the store.
    pub fn write(&self, store: &Store) -> Result<Index, ImageError> {
        let first = self.images.first().ok_or(ImageError::EmptyIndex)?;
        let types = first.media_types;
        let mut seen = BTreeSet::new();
        for image in &self.images {
            if image.media_types != types {
                return Err(ImageError::MixedMediaTypes {
                    first: first.platform.to_string(),
                    first_types: types,
                    other: image.platform.to_string(),
                    other_types: image.media_types,
                });
            }
            if !seen.insert(image.platform.to_string()) {
                return Err(ImageError::DuplicatePlatform(image.platform.to_string()));
            }
        }
        let mut annotations = BTreeMap::new();
        if types == MediaTypes::Oci {
            annotations.insert(
                ANNOTATION_CREATED.to_owned(),
                rfc3339(self.source_date_epoch.unwrap_or_else(now)),
            );
            annotations.extend(self.annotations.clone());
        } else if let Some(key) = self.annotations.keys().next() {
            return Err(ImageError::AnnotationsNotDocker { key: key.clone() });
        }
        let mut index = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(types.index())
            .manifests(
                self.images
                    .iter()
                    .map(|i| i.manifest.clone())
                    .collect::<Vec<_>>(),
            );
        if !annotations.is_empty() {
            index = index.annotations(annotations.into_iter().collect::<HashMap<_, _>>());
        }
        let index = index.build().map_err(spec_err("index"))?;
        let bytes = canonical_json(&index, "index")?;
        let blob = write_blob(store, &bytes)?;
        Ok(Index {
            descriptor: blob.descriptor(types.index()),
            bytes,
            images: self.images.clone(),
        })
    }
}

/// A multi-platform index as written into the store, with its images.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    /// The index's descriptor.
    pub descriptor: Descriptor,
    /// The index JSON, exactly as stored.
    pub bytes: Vec<u8>,
    /// The images it lists, in order.
    pub images: Vec<Image>,
}

impl Index {
    /// The index for a push, same bytes, same digest.
    pub fn raw_index(&self) -> Result<RawManifest, ImageError> {
        Ok(RawManifest::new(self.bytes.clone())?)
    }

    /// What to push to publish the index: manifests first, then the index.
    pub fn push_plan(&self) -> Result<PushPlan, PushError> {
        let index = RawManifest::new(self.bytes.clone())?;
        let manifests = self
            .images
            .iter()
            .map(|i| RawManifest::with_descriptor(i.manifest_bytes.clone(), &i.manifest))
            .collect::<Result<Vec<_>, _>>()?;
        PushPlan::index(index, manifests)
    }
}

/// The descriptor platform for `platform`, as containerd normalises it (the parsed
/// [`Platform`] already is).
fn oci_platform(platform: &Platform) -> Result<oci_spec::image::Platform, ImageError> {
    let mut b = PlatformBuilder::default()
        .architecture(Arch::from(platform.arch()))
        .os(Os::from(platform.os()));
    if let Some(variant) = platform.variant() {
        b = b.variant(variant.to_owned());
    }
    if let Some(version) = platform.os_version() {
        // Serialised under the wrong key by oci-spec 0.10; `canonical_json` renames it.
        b = b.os_version(version.to_owned());
    }
    b.build().map_err(spec_err("index"))
}

/// Serialises with sorted object keys and no whitespace, so equal documents give equal
/// bytes. Descriptor platforms get their spec key names (`os.version`, `os.features`).
pub(crate) fn canonical_json(
    value: &impl serde::Serialize,
    what: &'static str,
) -> Result<Vec<u8>, ImageError> {
    let value = serde_json::to_value(value).map_err(|e| ImageError::Spec {
        what,
        message: e.to_string(),
    })?;
    serde_json::to_vec(&canonicalize(value, false)).map_err(|e| ImageError::Spec {
        what,
        message: e.to_string(),
    })
}

fn canonicalize(value: Value, in_platform: bool) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map
                .into_iter()
                .map(|(k, v)| {
                    let child_platform = k == "platform";
                    let k = match (in_platform, k.as_str()) {
                        (true, "os_version") => "os.version".to_owned(),
                        (true, "os_features") => "os.features".to_owned(),
                        _ => k,
                    };
                    (k, canonicalize(v, child_platform))
                })
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k, v);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| canonicalize(v, false)).collect())
        }
        other => other,
    }
}

fn write_blob(store: &Store, bytes: &[u8]) -> Result<crate::store::Blob, ImageError> {
    let mut writer = store.writer(None)?;
    writer
        .write_all(bytes)
        .map_err(|e| StoreError::from_io(e, "write", store.root()))?;
    Ok(writer.commit()?)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Seconds since the epoch as RFC 3339 UTC (`2023-11-14T22:13:20Z`).
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn canonical_json_sorts_keys_and_fixes_platform_keys() {
        let p = Platform::parse("windows/amd64:10.0.17763.1").unwrap_or_else(|_| {
            // Fall back when the parser does not take os versions in this form.
            Platform::parse("linux/amd64").unwrap()
        });
        let platform = oci_platform(&p).unwrap();
        let mut d = Descriptor::new(
            MediaType::ImageManifest,
            1,
            Digest::try_from(format!("sha256:{}", "a".repeat(64))).unwrap(),
        );
        d.set_platform(Some(platform));
        d.set_annotations(Some(HashMap::from([
            ("z".to_owned(), "1".to_owned()),
            ("a".to_owned(), "2".to_owned()),
        ])));
        let text = String::from_utf8(canonical_json(&d, "index").unwrap()).unwrap();
        assert!(text.find("\"a\"").unwrap() < text.find("\"z\"").unwrap());
        assert!(!text.contains("os_version"), "{text}");
        if p.os_version().is_some() {
            assert!(text.contains("\"os.version\""), "{text}");
        }
    }

    #[test]
    fn docker_types_refuse_zstd() {
        assert_eq!(MediaTypes::Docker.layer(&MediaType::ImageLayerZstd), None);
        assert_eq!(
            MediaTypes::Docker.layer(&MediaType::ImageLayerGzip),
            Some(MediaType::Other(DOCKER_LAYER_GZIP.into()))
        );
        assert_eq!(
            MediaTypes::Oci.layer(&MediaType::ImageLayerZstd),
            Some(MediaType::ImageLayerZstd)
        );
    }
}
