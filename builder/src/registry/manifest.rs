//! Manifests and indexes as bytes: the exact JSON that is pushed, pulled and hashed.

use bytes::Bytes;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType};

use super::verify::sha256_digest;

/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker manifest list (v2.2) media type.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image manifest (v2.2) media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// The media types crossdock asks registries for, indexes first.
pub(crate) const ACCEPTED: &[&str] = &[OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

/// Bytes that are not a manifest or index crossdock can use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} is not a usable manifest: {reason}")]
pub struct ManifestError {
    what: String,
    reason: String,
}

impl ManifestError {
    pub(crate) fn new(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// Why the content was rejected.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A parsed manifest or index.
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    /// An image index or Docker manifest list.
    Index(Box<ImageIndex>),
    /// An image manifest (OCI or Docker v2.2).
    Image(Box<ImageManifest>),
}

/// A manifest or index exactly as stored in a registry, with its descriptor (media type,
/// sha256 digest of the bytes, size). The bytes are never re-serialised, so the digest
/// stays the one other content refers to.
#[derive(Clone, Debug, PartialEq)]
pub struct RawManifest {
    descriptor: Descriptor,
    bytes: Bytes,
    parsed: Parsed,
}

impl RawManifest {
    /// Takes manifest JSON: its media type comes from its `mediaType` field (or its shape
    /// when the field is absent), its digest is computed here.
    pub fn new(bytes: impl Into<Bytes>) -> Result<Self, ManifestError> {
        let bytes = bytes.into();
        let digest = sha256_digest(&bytes);
        let (media_type, parsed) =
            parse(&bytes).map_err(|reason| ManifestError::new(&digest, reason))?;
        let digest: oci_spec::image::Digest = digest
            .parse()
            .map_err(|e| ManifestError::new(&digest, format!("bad digest: {e}")))?;
        let descriptor = Descriptor::new(
            MediaType::from(media_type.as_str()),
            bytes.len() as u64,
            digest,
        );
        Ok(Self {
            descriptor,
            bytes,
            parsed,
        })
    }

    /// Like [`new`](Self::new), but checks the bytes against a descriptor that refers to
    /// them (digest and size) and keeps that descriptor, platform and annotations included.
    pub fn with_descriptor(
        bytes: impl Into<Bytes>,
        descriptor: &Descriptor,
    ) -> Result<Self, ManifestError> {
        let raw = Self::new(bytes)?;
        if raw.digest() != descriptor.digest().as_ref() || raw.size() != descriptor.size() {
            return Err(ManifestError::new(
                descriptor.digest().to_string(),
                format!(
                    "the content is {} ({} bytes), not what the descriptor says ({} bytes)",
                    raw.digest(),
                    raw.size(),
                    descriptor.size()
                ),
            ));
        }
        Ok(Self {
            descriptor: descriptor.clone(),
            ..raw
        })
    }

    /// The descriptor: media type, digest, size (and platform, when it came from an index).
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    /// The sha256 digest, `sha256:<hex>`.
    pub fn digest(&self) -> &str {
        self.descriptor.digest().as_ref()
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The media type.
    pub fn media_type(&self) -> String {
        self.descriptor.media_type().to_string()
    }

    /// The JSON bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The parsed content.
    pub fn parsed(&self) -> &Parsed {
        &self.parsed
    }
}

/// Reads the media type and content of manifest JSON.
fn parse(bytes: &[u8]) -> Result<(String, Parsed), String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("it is not JSON: {e}"))?;
    match value
        .get("schemaVersion")
        .and_then(serde_json::Value::as_u64)
    {
        Some(2) => {}
        Some(1) => {
            return Err(
                "it is a Docker schema 1 manifest, which is no longer supported; \
                        push the image again with a current client"
                    .into(),
            )
        }
        _ => return Err("schemaVersion is missing or not 2".into()),
    }
    let media_type = match value.get("mediaType").and_then(serde_json::Value::as_str) {
        Some(m) => m.to_owned(),
        None if value.get("manifests").is_some() => OCI_INDEX.to_owned(),
        None if value.get("config").is_some() => OCI_MANIFEST.to_owned(),
        None => return Err("it has no mediaType and is neither an index nor a manifest".into()),
    };
    let parsed = match media_type.as_str() {
        OCI_INDEX | DOCKER_LIST => Parsed::Index(Box::new(
            serde_json::from_value(value).map_err(|e| format!("invalid index: {e}"))?,
        )),
        OCI_MANIFEST | DOCKER_MANIFEST => Parsed::Image(Box::new(
            serde_json::from_value(value).map_err(|e| format!("invalid image manifest: {e}"))?,
        )),
        other => {
            return Err(format!(
                "media type {other} is not an image index or manifest"
            ))
        }
    };
    Ok((media_type, parsed))
}

/// Whether a descriptor's media type is an image manifest (OCI or Docker).
pub(crate) fn is_image_manifest(descriptor: &Descriptor) -> bool {
    matches!(
        descriptor.media_type().to_string().as_str(),
        OCI_MANIFEST | DOCKER_MANIFEST
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_from_field_or_shape() {
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#;
        let raw = RawManifest::new(&index[..]).expect("index");
        assert_eq!(raw.media_type(), DOCKER_LIST);
        assert!(matches!(raw.parsed(), Parsed::Index(_)));
        assert_eq!(raw.digest(), sha256_digest(index));
        assert_eq!(raw.size(), index.len() as u64);
        let bare = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
        let raw = RawManifest::new(&bare[..]).expect("manifest");
        assert_eq!(raw.media_type(), OCI_MANIFEST);
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        let cases: [(&[u8], &str); 5] = [
            (b"nope", "not JSON"),
            (br#"{"schemaVersion":1}"#, "schema 1"),
            (br#"{"manifests":[]}"#, "schemaVersion"),
            (br#"{"schemaVersion":2,"mediaType":"text/plain"}"#, "text/plain"),
            (br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":3}"#, "invalid index"),
        ];
        for (bytes, needle) in cases {
            let err = RawManifest::new(bytes).expect_err("rejected");
            assert!(err.to_string().contains(needle), "{err}");
        }
    }

    #[test]
    fn with_descriptor_checks_digest_and_size() {
        let bytes = br#"{"schemaVersion":2,"manifests":[]}"#;
        let good = RawManifest::new(&bytes[..]).expect("index");
        let again = RawManifest::with_descriptor(&bytes[..], good.descriptor()).expect("matches");
        assert_eq!(again.digest(), good.digest());
        let other =
            RawManifest::new(&br#"{"schemaVersion":2,"manifests":[ ]}"#[..]).expect("index");
        let err =
            RawManifest::with_descriptor(&bytes[..], other.descriptor()).expect_err("mismatch");
        assert!(
            err.to_string().contains("not what the descriptor says"),
            "{err}"
        );
    }
}
