//! The registry client: references, credentials, platform selection, pull and push.
//!
//! ## Brief overview
//!
//! - [`ImageRef`] is a parsed, Docker-normalised reference (`alpine` is
//!   `docker.io/library/alpine:latest`).
//! - [`Registry`] talks to registries with the settings of a [`RegistryConfig`] (plain-http
//!   hosts, mirrors, concurrency, [`RetryPolicy`]) and the credentials of a
//!   [`DockerConfig`] (`~/.docker/config.json`: `auths` and credential helpers). It keeps
//!   one `oci-client` client per host, which does the basic and bearer-token auth.
//! - [`Registry::resolve_image`] turns a reference and a [`crossbuild::Platform`] into a
//!   [`ResolvedImage`]: the index (if any), the platform's manifest chosen with
//!   containerd's rules ([`select_manifest`]), the config, and the blob descriptors.
//! - [`Registry::pull_blobs`] streams the blobs a [`BlobSink`] lacks into it, each through a
//!   [`BlobDownload`] that verifies size and digest as the bytes pass.
//! - [`Registry::push`] sends a [`PushPlan`] (an index and its manifests, or one manifest,
//!   as [`RawManifest`] bytes) with blobs read from a [`BlobSource`]: blobs first, then
//!   manifests, then the index, so a tag never points at missing content.
//! - [`Progress`] hears about bytes moved, per blob; the library prints nothing.

mod client;
mod config;
mod credentials;
mod manifest;
mod platform;
mod progress;
mod pull;
mod push;
mod reference;
mod verify;

pub use self::{
    client::{Registry, RegistryError, ResolvedImage},
    config::{RegistryConfig, RetryPolicy},
    credentials::{CredentialError, Credentials, DockerConfig, Secret},
    manifest::{
        ManifestError, Parsed, RawManifest, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST,
    },
    platform::{
        compatible_platforms, descriptor_platform, index_platforms, is_attestation,
        select_manifest, PlatformError,
    },
    progress::{BlobOutcome, Direction, NoProgress, Progress},
    pull::{BlobDownload, BlobSink, PullReport},
    push::{BlobSource, PushError, PushPlan, PushReport},
    reference::{ImageRef, ReferenceError},
    verify::VerifyError,
};
