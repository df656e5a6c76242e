//! The content store as the registry client's blob source (push) and sink (pull), against
//! Debian's `docker-registry` (CI's .ci/run installs it).

mod registry_support;

use std::io::{Read as _, Write as _};

use builder::{
    DockerConfig, ImageRef, NoProgress, PushPlan, RawManifest, Registry, RegistryConfig,
    RetryPolicy, Store,
};
use crossbuild::Platform;
use oci_spec::image::Digest;
use registry_support::{random_bytes, sha256, TestRegistry};

fn client() -> Registry {
    let config = RegistryConfig {
        retry: RetryPolicy {
            max_attempts: 2,
            initial_backoff_ms: 10,
            max_backoff_ms: 50,
        },
        ..RegistryConfig::default()
    };
    Registry::new(config, DockerConfig::empty())
}

fn put(store: &Store, bytes: &[u8]) -> Digest {
    let mut w = store.writer(None).expect("writer");
    w.write_all(bytes).expect("write");
    w.commit().expect("commit").digest
}

fn read(store: &Store, digest: &Digest) -> Vec<u8> {
    let mut out = Vec::new();
    store
        .open(digest)
        .expect("open")
        .read_to_end(&mut out)
        .expect("read");
    out
}

/// A single-platform OCI image whose layers and config are in `store`.
struct StoreImage {
    manifest: RawManifest,
    blobs: Vec<Digest>,
}

fn build_image(store: &Store) -> StoreImage {
    // Larger than one upload chunk (4 MiB) and one store chunk, plus a small one.
    let layers: Vec<Vec<u8>> = vec![random_bytes(5 << 20), random_bytes(70_000)];
    let layer_digests: Vec<Digest> = layers.iter().map(|b| put(store, b)).collect();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers",
                   "diff_ids": layer_digests.iter().map(|d| d.to_string()).collect::<Vec<_>>()},
        "config": {"Env": ["FROM_STORE=1"]},
    });
    let config_bytes = serde_json::to_vec(&config).expect("config json");
    let config_digest = put(store, &config_bytes);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest.to_string(), "size": config_bytes.len()},
        "layers": layer_digests.iter().zip(&layers).map(|(d, b)| serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": d.to_string(), "size": b.len(),
        })).collect::<Vec<_>>(),
    });
    let manifest =
        RawManifest::new(serde_json::to_vec(&manifest).expect("manifest json")).expect("manifest");
    let mut blobs = layer_digests;
    blobs.push(config_digest);
    StoreImage { manifest, blobs }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_from_a_store_and_pull_into_another() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().expect("tempdir");
    let source = Store::new(work.path().join("source")).expect("source store");
    let image = build_image(&source);
    let target =
        ImageRef::parse(&format!("{}/crossdock/store:v1", registry.host())).expect("reference");
    let plan = PushPlan::image(image.manifest.clone()).expect("plan");
    let client = client();

    let report = client
        .push(&target, &plan, &source, &NoProgress)
        .await
        .expect("push from the store");
    assert_eq!(report.digest, image.manifest.digest());
    let mut uploaded = report.uploaded.clone();
    uploaded.sort();
    let mut expected: Vec<String> = image.blobs.iter().map(|d| d.to_string()).collect();
    expected.sort();
    assert_eq!(uploaded, expected);

    let dest = Store::new(work.path().join("dest")).expect("dest store");
    let platform = Platform::parse("linux/amd64").expect("platform");
    let (resolved, pulled) = client
        .pull_image(&target, &platform, &dest, &NoProgress)
        .await
        .expect("pull into the store");
    assert_eq!(resolved.digest(), image.manifest.digest());
    assert!(pulled.already_present.is_empty());
    for digest in &image.blobs {
        assert!(dest.exists(digest), "{digest} pulled");
        assert_eq!(read(&dest, digest), read(&source, digest), "{digest}");
        assert_eq!(sha256(&read(&dest, digest)), digest.to_string());
    }
    let manifest_digest: Digest = image.manifest.digest().parse().expect("digest");
    assert_eq!(
        read(&dest, &manifest_digest),
        image.manifest.bytes().to_vec()
    );
    // No temp files left behind.
    let ingest: Vec<_> = std::fs::read_dir(dest.root().join("ingest"))
        .expect("ingest dir")
        .collect();
    assert!(ingest.is_empty(), "{ingest:?}");

    // Pulling again finds everything in the store.
    let (_, again) = client
        .pull_image(&target, &platform, &dest, &NoProgress)
        .await
        .expect("second pull");
    assert!(again.downloaded.is_empty(), "{:?}", again.downloaded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushing_a_corrupted_store_blob_fails_and_removes_it() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().expect("tempdir");
    let source = Store::new(work.path().join("source")).expect("source store");
    let image = build_image(&source);
    let layer = &image.blobs[1];
    let path = source.blob_path(layer).expect("path");
    let mut bytes = std::fs::read(&path).expect("blob");
    bytes[100] ^= 1;
    std::fs::write(&path, bytes).expect("corrupt");

    let target =
        ImageRef::parse(&format!("{}/crossdock/store:bad", registry.host())).expect("reference");
    let plan = PushPlan::image(image.manifest.clone()).expect("plan");
    let err = client()
        .push(&target, &plan, &source, &NoProgress)
        .await
        .expect_err("a corrupted blob must not be pushed");
    assert!(err.to_string().contains(&layer.to_string()), "{err}");
    assert!(!source.exists(layer), "the corrupted blob is removed");
}
