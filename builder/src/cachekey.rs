//! Step cache keys, and the on-disk index from a key to what the step produced.
//!
//! A key is the SHA-256 of everything that decides a step's result: the parent step's
//! key, the instruction after expansion, the ARG values it can see, the digests of its
//! inputs (context paths for COPY, the source stage's key for `--from`) and, when it
//! matters, the platform it runs on. Nothing else: a step on the build platform whose
//! inputs do not mention TARGET* values gets the same key for every target platform,
//! so it runs once and every platform shares its result.
//!
//! The index lives under the store root (`<root>/cache/<hex>.json`), one small JSON file
//! per key written atomically (temp file + rename), so several builds, in one process or
//! many, can share it; a record whose layer blob has left the store is a miss.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crossbuild::Platform;
use oci_spec::image::{Digest, MediaType};

use crate::config::HistoryStep;
use crate::digest::Hasher;
use crate::layer::Layer;
use crate::store::Store;

/// A step's cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(Digest);

impl CacheKey {
    /// The digest.
    pub fn digest(&self) -> &Digest {
        &self.0
    }

    /// The hex part, safe as a file name.
    pub fn hex(&self) -> &str {
        self.0.digest()
    }

    /// A short form for progress output.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }
}

impl std::fmt::Display for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Everything a key is made of. Fields are hashed in a fixed order, each with its name
/// and length, so no two different inputs can hash the same text.
#[derive(Debug, Clone, Default)]
pub struct KeyInputs {
    /// The step this one builds on (none for a base).
    pub parent: Option<CacheKey>,
    /// The instruction after expansion (`RUN /bin/sh -c go mod download`).
    pub instruction: String,
    /// ARG values visible to the step (name, value), any order.
    pub args: Vec<(String, String)>,
    /// Other values the result depends on (the RUN environment, cwd, user, mounts),
    /// any order.
    pub settings: Vec<(String, String)>,
    /// Content inputs (`context:<paths>` → digest, `stage:<name>` → that stage's key).
    pub inputs: Vec<(String, Digest)>,
    /// The platform, when the result depends on it (a pull, a RUN).
    pub platform: Option<Platform>,
}

impl KeyInputs {
    /// The key.
    pub fn key(&self) -> CacheKey {
        let mut h = Hasher::new();
        let mut field = |name: &str, value: &str| {
            h.update(name.as_bytes());
            h.update(&(value.len() as u64).to_le_bytes());
            h.update(value.as_bytes());
        };
        field("v", "crossdock-step-key-1");
        field(
            "parent",
            &self
                .parent
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default(),
        );
        field("instruction", &self.instruction);
        let mut args = self.args.clone();
        args.sort();
        for (k, v) in &args {
            field("arg", k);
            field("=", v);
        }
        let mut settings = self.settings.clone();
        settings.sort();
        for (k, v) in &settings {
            field("setting", k);
            field("=", v);
        }
        let mut inputs = self.inputs.clone();
        inputs.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| a.1.to_string().cmp(&b.1.to_string()))
        });
        for (k, d) in &inputs {
            field("input", k);
            field("=", d.as_ref());
        }
        field(
            "platform",
            &self
                .platform
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default(),
        );
        CacheKey(h.finish().0)
    }
}

/// A layer as the index records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CachedLayer {
    /// Blob digest.
    pub digest: String,
    /// Uncompressed digest.
    pub diff_id: String,
    /// Blob size.
    pub size: u64,
    /// Media type.
    pub media_type: String,
}

impl From<&Layer> for CachedLayer {
    fn from(l: &Layer) -> Self {
        Self {
            digest: l.digest.to_string(),
            diff_id: l.diff_id.to_string(),
            size: l.size,
            media_type: l.media_type.to_string(),
        }
    }
}

impl CachedLayer {
    /// Back to a [`Layer`], or `None` if the record does not parse (then it is a miss).
    pub fn layer(&self) -> Option<Layer> {
        Some(Layer {
            digest: self.digest.parse().ok()?,
            diff_id: self.diff_id.parse().ok()?,
            size: self.size,
            media_type: MediaType::from(self.media_type.as_str()),
        })
    }
}

/// What a step produced: its layer (none for config-only steps) and its history entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CacheRecord {
    /// The layer, if the step made one.
    pub layer: Option<CachedLayer>,
    /// Its history entry.
    pub history: Option<HistoryStep>,
}

/// Errors of the cache index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// Reading or writing a record failed.
    #[error("cache index: cannot {op} {path}: {source}")]
    Io {
        /// What.
        op: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// The on-disk index: key → [`CacheRecord`].
#[derive(Debug, Clone)]
pub struct CacheIndex {
    dir: PathBuf,
}

impl CacheIndex {
    /// The index of `store` (under its root).
    pub fn new(store: &Store) -> Result<Self, CacheError> {
        Self::at(store.root().join("cache"))
    }

    /// An index in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> Result<Self, CacheError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| CacheError::Io {
            op: "create",
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.hex()))
    }

    /// The record for `key`, if any, and only if its layer is still in `store`.
    /// An unreadable or corrupt record is a miss (and is removed), never an error.
    pub fn get(&self, key: &CacheKey, store: &Store) -> Option<CacheRecord> {
        let path = self.path(key);
        let bytes = fs::read(&path).ok()?;
        let Ok(record) = serde_json::from_slice::<CacheRecord>(&bytes) else {
            let _ = fs::remove_file(&path);
            return None;
        };
        if let Some(l) = &record.layer {
            let layer = l.layer()?;
            if !store.exists(&layer.digest) {
                return None;
            }
        }
        Some(record)
    }

    /// Records `key` → `record`, atomically: readers see the old record or the new one.
    pub fn put(&self, key: &CacheKey, record: &CacheRecord) -> Result<(), CacheError> {
        let path = self.path(key);
        let io = |op: &'static str, p: &Path| {
            let p = p.to_path_buf();
            move |source| CacheError::Io {
                op,
                path: p,
                source,
            }
        };
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)
            .map_err(io("create a temp file in", &self.dir))?;
        let bytes = serde_json::to_vec(record).map_err(|e| CacheError::Io {
            op: "encode",
            path: path.clone(),
            source: io::Error::other(e),
        })?;
        tmp.write_all(&bytes).map_err(io("write", tmp.path()))?;
        tmp.as_file().sync_all().map_err(io("sync", tmp.path()))?;
        tmp.persist(&path).map_err(|e| CacheError::Io {
            op: "rename into",
            path: path.clone(),
            source: e.error,
        })?;
        Ok(())
    }

    /// Removes every record (`--no-cache` does not need this: it skips lookups).
    pub fn clear(&self) -> Result<(), CacheError> {
        let rd = fs::read_dir(&self.dir).map_err(|source| CacheError::Io {
            op: "list",
            path: self.dir.clone(),
            source,
        })?;
        for e in rd.flatten() {
            let _ = fs::remove_file(e.path());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Compression, LayerBuilder};

    fn base() -> KeyInputs {
        KeyInputs {
            parent: None,
            instruction: "RUN /bin/sh -c go mod download".into(),
            args: vec![("A".into(), "1".into()), ("B".into(), "2".into())],
            settings: vec![("cwd".into(), "/src".into())],
            inputs: vec![],
            platform: Some(Platform::parse("linux/amd64").unwrap()),
        }
    }

    #[test]
    fn keys_depend_on_every_input_and_nothing_else() {
        let k = base().key();
        assert_eq!(k, base().key(), "deterministic");
        let mut reordered = base();
        reordered.args.reverse();
        assert_eq!(reordered.key(), k, "argument order does not matter");

        let mut changes: Vec<KeyInputs> = Vec::new();
        let mut c = base();
        c.parent = Some(k.clone());
        changes.push(c);
        let mut c = base();
        c.instruction.push(' ');
        changes.push(c);
        let mut c = base();
        c.args[0].1 = "9".into();
        changes.push(c);
        let mut c = base();
        c.settings[0].1 = "/".into();
        changes.push(c);
        let mut c = base();
        c.inputs.push((
            "context:go.mod".into(),
            crate::digest::Hasher::new().finish().0,
        ));
        changes.push(c);
        let mut c = base();
        c.platform = Some(Platform::parse("linux/arm64").unwrap());
        changes.push(c);
        // Field boundaries are unambiguous: moving text between fields changes the key.
        let mut c = base();
        c.args = vec![("A".into(), "12".into())];
        let mut d = base();
        d.args = vec![("A1".into(), "2".into())];
        assert_ne!(c.key(), d.key());
        for (i, c) in changes.iter().enumerate() {
            assert_ne!(c.key(), k, "change {i}");
        }
    }

    #[test]
    fn index_round_trip_across_instances_and_missing_blobs() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("store")).unwrap();
        let dir = tmp.path().join("rootfs");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("f"), "x").unwrap();
        let layer = LayerBuilder::rootfs(&dir)
            .compression(Compression::Gzip)
            .source_date_epoch(Some(0))
            .write(&store)
            .unwrap();
        let key = base().key();
        let record = CacheRecord {
            layer: Some(CachedLayer::from(&layer)),
            history: Some(HistoryStep {
                created_by: "RUN x # buildkit".into(),
                comment: "buildkit.dockerfile.v0".into(),
                empty_layer: false,
            }),
        };
        let index = CacheIndex::new(&store).unwrap();
        assert_eq!(index.get(&key, &store), None);
        index.put(&key, &record).unwrap();
        // Another instance (another process) sees it.
        let other = CacheIndex::new(&store).unwrap();
        let got = other.get(&key, &store).unwrap();
        assert_eq!(got, record);
        assert_eq!(got.layer.unwrap().layer().unwrap(), layer);
        // No temp files are left behind.
        let names: Vec<_> = fs::read_dir(store.root().join("cache"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1);

        // A corrupt record is a miss, and goes away.
        let k2 = KeyInputs {
            instruction: "other".into(),
            ..base()
        }
        .key();
        fs::write(
            store
                .root()
                .join("cache")
                .join(format!("{}.json", k2.hex())),
            "{not json",
        )
        .unwrap();
        assert_eq!(index.get(&k2, &store), None);
        assert!(!store
            .root()
            .join("cache")
            .join(format!("{}.json", k2.hex()))
            .exists());

        // A record whose layer left the store is a miss.
        fs::remove_file(store.blob_path(&layer.digest).unwrap()).unwrap();
        assert_eq!(index.get(&key, &store), None);
    }
}
