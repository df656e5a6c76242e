//! Pushes and pulls when things break: the registry dies mid-push, connections drop, the
//! local store holds a corrupt blob. Needs `docker-registry` and `skopeo` installed (CI's
//! .ci/run installs them).

mod registry_support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use builder::{
    BlobOutcome, DockerConfig, ImageRef, NoProgress, PushError, Registry, RegistryConfig,
    RetryPolicy,
};
use crossbuild::Platform;
use registry_support::{
    build_image, http_status, skopeo_sees, DirBlobs, DropProxy, Recorder, TestRegistry,
};

fn reference(s: &str) -> ImageRef {
    ImageRef::parse(s).expect("reference")
}

fn client(attempts: u32, uploads: usize) -> Registry {
    let config = RegistryConfig {
        max_concurrent_uploads: uploads,
        retry: RetryPolicy {
            max_attempts: attempts,
            initial_backoff_ms: 20,
            max_backoff_ms: 100,
        },
        ..RegistryConfig::default()
    };
    Registry::new(config, DockerConfig::empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_stopped_mid_push_then_rerun_uploads_only_what_is_missing() {
    let registry = Arc::new(Mutex::new(TestRegistry::start()));
    let (host, port) = {
        let r = registry.lock().expect("lock");
        (r.host(), r.port())
    };
    let work = tempfile::tempdir().expect("tempdir");
    let local = DirBlobs::new(&work.path().join("local"));
    let image = build_image(
        &local,
        &["linux/amd64", "linux/arm64", "linux/arm/v7"],
        2,
        200_000,
    );
    let target = reference(&format!("{host}/faults/app:1"));
    let all: BTreeSet<String> = image.blob_digests().into_iter().collect();

    // Kill the registry as soon as the first blob is committed.
    let killer = registry.clone();
    let progress = Recorder::with_hook(move |_, outcome| {
        if outcome == BlobOutcome::Uploaded {
            if let Ok(mut r) = killer.lock() {
                r.stop();
            }
        }
    });
    let err = client(2, 2)
        .push(&target, &image.plan(), &local, &progress)
        .await
        .expect_err("registry died");
    let message = err.to_string();
    let PushError::Blob { digest, size, .. } = &err else {
        panic!("expected a blob error, got {err:?}");
    };
    assert!(all.contains(digest), "{message}");
    assert!(
        message.contains(&format!("{digest} ({size} bytes)")),
        "{message}"
    );
    assert!(
        message.contains("nothing was tagged: run the push again"),
        "{message}"
    );
    assert!(
        progress.manifests.lock().expect("lock").is_empty(),
        "no manifest or index pushed"
    );
    let first_run: BTreeSet<String> = progress
        .with_outcome(BlobOutcome::Uploaded)
        .into_iter()
        .collect();
    assert!(
        !first_run.is_empty() && first_run.len() < all.len(),
        "{first_run:?}"
    );

    // Same storage, same port: the tag does not exist, some blobs do.
    registry.lock().expect("lock").restart();
    assert_eq!(
        http_status(port, "GET", "/v2/faults/app/manifests/1"),
        Some(404)
    );
    assert!(!skopeo_sees(&host, "faults/app:1"));
    // A blob whose commit the crash interrupted may answer 500: it counts as missing.
    let missing: BTreeSet<String> = all
        .iter()
        .filter(|d| http_status(port, "HEAD", &format!("/v2/faults/app/blobs/{d}")) != Some(200))
        .cloned()
        .collect();
    assert!(
        first_run.is_disjoint(&missing),
        "blobs committed before the crash survive: {missing:?}"
    );

    let rerun = Recorder::default();
    let report = client(2, 2)
        .push(&target, &image.plan(), &local, &rerun)
        .await
        .expect("rerun completes");
    let uploaded: BTreeSet<String> = report.uploaded.iter().cloned().collect();
    assert_eq!(uploaded, missing, "only the missing blobs are uploaded");
    let present: BTreeSet<String> = report.already_present.iter().cloned().collect();
    assert_eq!(present, all.difference(&missing).cloned().collect());
    assert_eq!(
        rerun.with_outcome(BlobOutcome::Uploaded).len(),
        missing.len()
    );
    assert!(skopeo_sees(&host, "faults/app:1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_retried() {
    let registry = TestRegistry::start();
    let proxy = DropProxy::start(registry.port(), 64 * 1024, 2);
    let work = tempfile::tempdir().expect("tempdir");
    let local = DirBlobs::new(&work.path().join("local"));
    let image = build_image(&local, &["linux/amd64", "linux/arm64"], 1, 256 * 1024);
    let target = reference(&format!("{}/drop/app:1", proxy.host()));
    let progress = Recorder::default();
    let report = client(4, 2)
        .push(&target, &image.plan(), &local, &progress)
        .await
        .expect("push through a flaky proxy");
    assert_eq!(proxy.dropped.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(
        !progress.retries.lock().expect("lock").is_empty(),
        "retries were reported"
    );
    assert_eq!(
        report.uploaded.len() + report.already_present.len(),
        image.blob_digests().len()
    );
    assert!(skopeo_sees(&registry.host(), "drop/app:1"));
    // And the content is intact.
    let pulled = DirBlobs::new(&work.path().join("pulled"));
    let direct = reference(&format!("{}/drop/app:1", registry.host()));
    let arm64 = Platform::parse("linux/arm64").expect("platform");
    client(1, 1)
        .pull_image(&direct, &arm64, &pulled, &NoProgress)
        .await
        .expect("pull");
    for digest in &image.layers[1] {
        assert_eq!(pulled.get(digest), local.get(digest));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_downloads_are_retried() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().expect("tempdir");
    let local = DirBlobs::new(&work.path().join("local"));
    let image = build_image(&local, &["linux/amd64"], 2, 256 * 1024);
    let direct = reference(&format!("{}/dl/app:1", registry.host()));
    client(1, 2)
        .push(&direct, &image.plan(), &local, &NoProgress)
        .await
        .expect("push");

    let proxy = DropProxy::start_on_responses(registry.port(), 100 * 1024, 2);
    let through = reference(&format!("{}/dl/app:1", proxy.host()));
    let pulled = DirBlobs::new(&work.path().join("pulled"));
    let progress = Recorder::default();
    let amd64 = Platform::parse("linux/amd64").expect("platform");
    let (_, report) = client(4, 2)
        .pull_image(&through, &amd64, &pulled, &progress)
        .await
        .expect("pull through a flaky proxy");
    assert_eq!(proxy.dropped.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(
        progress.retries.lock().expect("lock").len(),
        2,
        "each cut download retried once"
    );
    assert_eq!(
        report.downloaded.len(),
        5,
        "two layers, config, manifest, index"
    );
    for digest in image.blob_digests() {
        assert_eq!(pulled.get(&digest), local.get(&digest));
    }
    assert!(
        pulled.files().iter().all(|f| !f.contains(".tmp")),
        "no partial files left"
    );

    // When every download is cut, the pull fails naming the layer; nothing partial stays.
    let always = DropProxy::start_on_responses(registry.port(), 100 * 1024, usize::MAX);
    let through = reference(&format!("{}/dl/app:1", always.host()));
    let empty = DirBlobs::new(&work.path().join("empty"));
    let err = client(2, 1)
        .pull_image(&through, &amd64, &empty, &NoProgress)
        .await
        .expect_err("always cut");
    let message = err.to_string();
    assert!(
        image.layers[0].iter().any(|l| message.contains(l.as_str())),
        "{message}"
    );
    assert!(empty.files().is_empty(), "{:?}", empty.files());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_always_drops_gives_a_clean_error() {
    let registry = TestRegistry::start();
    let proxy = DropProxy::start(registry.port(), 64 * 1024, usize::MAX);
    let work = tempfile::tempdir().expect("tempdir");
    let local = DirBlobs::new(&work.path().join("local"));
    let image = build_image(&local, &["linux/amd64"], 1, 256 * 1024);
    let target = reference(&format!("{}/drop/never:1", proxy.host()));
    let progress = Recorder::default();
    let err = client(3, 1)
        .push(&target, &image.plan(), &local, &progress)
        .await
        .expect_err("always dropped");
    let layer = &image.layers[0][0];
    let PushError::Blob {
        digest, attempts, ..
    } = &err
    else {
        panic!("expected a blob error, got {err:?}");
    };
    assert_eq!(digest, layer);
    assert_eq!(*attempts, 3);
    assert!(
        err.to_string()
            .contains(&format!("uploading blob {layer} (262144 bytes)")),
        "{err}"
    );
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
    assert_eq!(progress.retries.lock().expect("lock").len(), 2);
    assert!(!skopeo_sees(&registry.host(), "drop/never:1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_blob_in_the_store_is_never_committed() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().expect("tempdir");
    let local = DirBlobs::new(&work.path().join("local"));
    let image = build_image(&local, &["linux/amd64"], 1, 100_000);
    let layer = image.layers[0][0].clone();
    let mut bytes = local.get(&layer).expect("layer");
    bytes[50_000] ^= 1;
    local.overwrite(&layer, &bytes);
    let target = reference(&format!("{}/corrupt/app:1", registry.host()));
    let client = client(3, 2);
    let err = client
        .push(&target, &image.plan(), &local, &NoProgress)
        .await
        .expect_err("corrupt source");
    assert!(matches!(err, PushError::SourceCorrupt(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("blob {layer} (100000 bytes) has digest sha256:")),
        "{err}"
    );
    assert!(
        !client.blob_exists(&target, &layer).await.expect("HEAD"),
        "the corrupt upload was not committed"
    );
    assert!(!skopeo_sees(&registry.host(), "corrupt/app:1"));

    // A truncated blob is caught too.
    local.overwrite(&layer, &bytes[..1000]);
    let err = client
        .push(&target, &image.plan(), &local, &NoProgress)
        .await
        .expect_err("truncated source");
    assert!(
        err.to_string().contains("has 1000 bytes, not the 100000"),
        "{err}"
    );
}
