//! Base images from a registry: the [`BaseResolver`] real builds use. Resolving fetches
//! the manifest and config only (what the step graph needs: config, history, layer
//! list); fetching, when the base step runs, pulls the layer blobs into the store.

use std::collections::HashMap;
use std::sync::Mutex;

use crossbuild::Platform;
use oci_spec::image::{Digest, MediaType};
use serde_json::Value;

use crate::config::{HistoryStep, HISTORY_COMMENT};
use crate::graph::{BaseImage, BaseResolver};
use crate::image::{Healthcheck, ImageConfig};
use crate::layer::Layer;
use crate::registry::{ImageRef, NoProgress, Registry, ResolvedImage};
use crate::store::Store;

/// A base image's config JSON as the build needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedConfig {
    /// Runtime settings (Docker's extension keys included).
    pub config: ImageConfig,
    /// History.
    pub history: Vec<HistoryStep>,
    /// `rootfs.diff_ids`.
    pub diff_ids: Vec<Digest>,
}

/// Reads an image config (OCI or Docker), keeping what a build carries over.
pub fn parse_config(bytes: &[u8]) -> Result<ParsedConfig, String> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("image config is not JSON: {e}"))?;
    let c = &v["config"];
    let strings = |x: &Value| -> Option<Vec<String>> {
        x.as_array().map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
    };
    let keys = |x: &Value| -> Vec<String> {
        x.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let text = |x: &Value| x.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let config = ImageConfig {
        env: strings(&c["Env"]).unwrap_or_default(),
        cmd: strings(&c["Cmd"]),
        entrypoint: strings(&c["Entrypoint"]),
        working_dir: text(&c["WorkingDir"]),
        user: text(&c["User"]),
        labels: c["Labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
        exposed_ports: keys(&c["ExposedPorts"]).into_iter().collect(),
        volumes: keys(&c["Volumes"]).into_iter().collect(),
        stop_signal: text(&c["StopSignal"]),
        shell: strings(&c["Shell"]),
        healthcheck: serde_json::from_value::<Healthcheck>(c["Healthcheck"].clone()).ok(),
        on_build: strings(&c["OnBuild"]).unwrap_or_default(),
        author: text(&v["author"]),
    };
    let history = v["history"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| HistoryStep {
                    created_by: h["created_by"].as_str().unwrap_or_default().to_string(),
                    comment: h["comment"].as_str().unwrap_or(HISTORY_COMMENT).to_string(),
                    empty_layer: h["empty_layer"].as_bool().unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default();
    let diff_ids = v["rootfs"]["diff_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    d.as_str()
                        .unwrap_or_default()
                        .parse::<Digest>()
                        .map_err(|e| format!("bad diff_id {d}: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(ParsedConfig {
        config,
        history,
        diff_ids,
    })
}

/// Resolves and pulls bases with a [`Registry`] into a [`Store`].
pub struct RegistryBases {
    registry: Registry,
    store: Store,
    runtime: tokio::runtime::Runtime,
    resolved: Mutex<HashMap<(String, String), ResolvedImage>>,
}

impl RegistryBases {
    /// A resolver pulling with `registry` into `store`.
    pub fn new(registry: Registry, store: Store) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the I/O runtime: {e}"))?;
        Ok(Self {
            registry,
            store,
            runtime,
            resolved: Mutex::new(HashMap::new()),
        })
    }
}

impl BaseResolver for RegistryBases {
    fn resolve(&self, reference: &str, platform: &Platform) -> Result<BaseImage, String> {
        let r = ImageRef::parse(reference).map_err(|e| e.to_string())?;
        let image = self
            .runtime
            .block_on(self.registry.resolve_image(&r, platform))
            .map_err(|e| e.to_string())?;
        let parsed = parse_config(image.config())?;
        let layers = image.image_manifest().layers();
        if layers.len() != parsed.diff_ids.len() {
            return Err(format!(
                "the manifest lists {} layers but the config {} diff_ids",
                layers.len(),
                parsed.diff_ids.len()
            ));
        }
        let layers = layers
            .iter()
            .zip(&parsed.diff_ids)
            .map(|(d, diff_id)| Layer {
                digest: d.digest().clone(),
                size: d.size(),
                diff_id: diff_id.clone(),
                media_type: match d.media_type() {
                    MediaType::Other(t) if t.ends_with("rootfs.diff.tar.gzip") => {
                        MediaType::ImageLayerGzip
                    }
                    t => t.clone(),
                },
            })
            .collect();
        let digest = image.manifest().digest().parse::<Digest>().ok();
        self.resolved
            .lock()
            .map_err(|_| "resolver lock poisoned".to_string())?
            .insert((reference.to_string(), platform.to_string()), image);
        Ok(BaseImage {
            reference: reference.to_string(),
            platform: platform.clone(),
            digest,
            config: parsed.config,
            history: parsed.history,
            layers,
        })
    }

    fn fetch(&self, base: &BaseImage) -> Result<(), String> {
        let image = self
            .resolved
            .lock()
            .map_err(|_| "resolver lock poisoned".to_string())?
            .get(&(base.reference.clone(), base.platform.to_string()))
            .cloned()
            .ok_or_else(|| format!("{} was not resolved before it was fetched", base.reference))?;
        self.runtime
            .block_on(self.registry.pull_blobs(&image, &self.store, &NoProgress))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_round_trip_through_the_image_builder() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path()).unwrap();
        let config = ImageConfig {
            env: vec!["PATH=/bin".into()],
            cmd: Some(vec!["sh".into()]),
            working_dir: Some("/w".into()),
            user: Some("app".into()),
            labels: [("a".to_string(), "b".to_string())].into(),
            exposed_ports: ["80/tcp".to_string()].into(),
            volumes: ["/data".to_string()].into(),
            stop_signal: Some("SIGINT".into()),
            shell: Some(vec!["/bin/ash".into(), "-c".into()]),
            healthcheck: Some(Healthcheck {
                test: vec!["NONE".into()],
                ..Healthcheck::default()
            }),
            on_build: vec!["RUN x".into()],
            author: Some("me".into()),
            entrypoint: None,
        };
        let image = crate::ImageBuilder::new(Platform::parse("linux/arm64").unwrap())
            .config(config.clone())
            .empty_step("ENV PATH=/bin")
            .history_comment(HISTORY_COMMENT)
            .source_date_epoch(Some(0))
            .write(&store)
            .unwrap();
        let parsed = parse_config(&image.config_bytes).unwrap();
        assert_eq!(parsed.config, config);
        assert_eq!(
            parsed.history,
            [HistoryStep {
                created_by: "ENV PATH=/bin".into(),
                comment: HISTORY_COMMENT.into(),
                empty_layer: true
            }]
        );
        assert!(parsed.diff_ids.is_empty());
        assert!(parse_config(b"{").unwrap_err().contains("not JSON"));
    }
}
