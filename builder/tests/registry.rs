//! The registry client against Debian's `docker-registry`, checked with skopeo, and against
//! a scripted fake registry (bearer tokens, corrupt blobs). Needs `docker-registry` and
//! `skopeo` installed (CI's .ci/run installs them).

mod registry_support;

use builder::{
    BlobOutcome, DockerConfig, ImageRef, NoProgress, PushPlan, RawManifest, Registry,
    RegistryConfig, RegistryError, RetryPolicy,
};
use crossbuild::Platform;
use registry_support::{
    build_image, sha256, skopeo, skopeo_sees, DirBlobs, FakeServer, Recorder, Response,
    TestRegistry,
};

fn platform(s: &str) -> Platform {
    Platform::parse(s).expect("platform")
}

fn reference(s: &str) -> ImageRef {
    ImageRef::parse(s).expect("reference")
}

fn quick_config() -> RegistryConfig {
    RegistryConfig {
        retry: RetryPolicy {
            max_attempts: 2,
            initial_backoff_ms: 10,
            max_backoff_ms: 50,
        },
        ..RegistryConfig::default()
    }
}

fn anonymous() -> Registry {
    Registry::new(quick_config(), DockerConfig::empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_platform_push_is_read_back_by_skopeo_and_by_us() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().expect("tempdir");
    let local = DirBlobs::new(&work.path().join("local"));
    let image = build_image(
        &local,
        &["linux/amd64", "linux/arm64", "linux/arm/v7"],
        2,
        300_000,
    );
    let target = reference(&format!("{}/crossdock/test:v1", registry.host()));
    let client = anonymous();
    let progress = Recorder::default();

    let report = client
        .push(&target, &image.plan(), &local, &progress)
        .await
        .expect("push");
    assert_eq!(report.digest, image.index.digest());
    let mut uploaded = report.uploaded.clone();
    uploaded.sort();
    assert_eq!(uploaded, image.blob_digests(), "every blob uploaded once");
    assert_eq!(
        progress.with_outcome(BlobOutcome::Uploaded),
        image.blob_digests()
    );
    for (digest, bytes) in progress.bytes.lock().expect("lock").iter() {
        assert_eq!(
            Some(*bytes as usize),
            local.get(digest).map(|b| b.len()),
            "bytes reported for {digest}"
        );
    }
    // Manifests by digest first, the tag last.
    let pushed = progress.manifests.lock().expect("lock").clone();
    assert_eq!(pushed.len(), 4);
    assert_eq!(
        pushed.last().map(String::as_str),
        Some(target.to_string().as_str())
    );

    // An independent client sees the index with the three platforms and our digests.
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{}/crossdock/test:v1", registry.host()),
    ]);
    assert_eq!(
        sha256(raw.as_bytes()),
        image.index.digest(),
        "skopeo reads the exact index bytes"
    );
    let index: serde_json::Value = serde_json::from_str(&raw).expect("index json");
    let platforms: Vec<String> = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| {
            let p = &m["platform"];
            let mut s = format!(
                "{}/{}",
                p["os"].as_str().unwrap_or(""),
                p["architecture"].as_str().unwrap_or("")
            );
            if let Some(v) = p["variant"].as_str() {
                s.push('/');
                s.push_str(v);
            }
            s
        })
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);

    let layout = work.path().join("layout");
    skopeo(&[
        "copy",
        "--all",
        "--preserve-digests",
        "--insecure-policy",
        "--src-tls-verify=false",
        "--quiet",
        &format!("docker://{}/crossdock/test:v1", registry.host()),
        &format!("oci:{}:v1", layout.display()),
    ]);
    let index_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json"))
            .expect("json");
    assert_eq!(
        index_json["manifests"][0]["digest"].as_str(),
        Some(image.index.digest()),
        "copy keeps the digest"
    );
    for digest in image.blob_digests() {
        let copied = std::fs::read(layout.join("blobs/sha256").join(&digest["sha256:".len()..]))
            .expect("copied blob");
        assert_eq!(Some(copied), local.get(&digest), "{digest}");
    }

    // Pull each platform back into an empty store: same bytes.
    let pulled = DirBlobs::new(&work.path().join("pulled"));
    for p in ["linux/amd64", "linux/arm64", "linux/arm/v7"] {
        let (resolved, pull) = client
            .pull_image(&target, &platform(p), &pulled, &NoProgress)
            .await
            .expect("pull");
        assert_eq!(
            resolved.manifest().digest(),
            image.manifest_for(p).digest(),
            "{p}"
        );
        assert_eq!(resolved.platform().to_string(), p);
        assert_eq!(resolved.digest(), image.index.digest());
        for blob in resolved.blobs() {
            let digest = blob.digest().to_string();
            let expected = local.get(&digest).or_else(|| {
                [&image.index]
                    .into_iter()
                    .chain(&image.manifests)
                    .find(|m| m.digest() == digest)
                    .map(|m| m.bytes().to_vec())
            });
            assert_eq!(pulled.get(&digest), expected, "{p}: {digest}");
        }
        assert!(!pull.downloaded.is_empty());
    }
    // A second pull finds everything in the sink.
    let writes = pulled.writes();
    let (_, again) = client
        .pull_image(&target, &platform("linux/arm64"), &pulled, &NoProgress)
        .await
        .expect("pull again");
    assert!(again.downloaded.is_empty(), "{again:?}");
    assert_eq!(pulled.writes(), writes);

    // A rerun of the push uploads nothing.
    let rerun = client
        .push(&target, &image.plan(), &local, &NoProgress)
        .await
        .expect("push again");
    assert!(rerun.uploaded.is_empty());
    assert_eq!(rerun.already_present.len(), image.blob_digests().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_selection_follows_containerd() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().expect("tempdir");
    let local = DirBlobs::new(&work.path().join("local"));
    let image = build_image(
        &local,
        &["linux/amd64", "linux/arm/v6", "unknown/unknown"],
        1,
        1000,
    );
    let target = reference(&format!("{}/sel/app:1", registry.host()));
    let client = anonymous();
    client
        .push(&target, &image.plan(), &local, &NoProgress)
        .await
        .expect("push");

    // v7 is asked for, only v6 exists: containerd's fallback picks it.
    let v7 = client
        .resolve_image(&target, &platform("linux/arm/v7"))
        .await
        .expect("v7 falls back to v6");
    assert_eq!(
        v7.manifest().digest(),
        image.manifest_for("linux/arm/v6").digest()
    );
    assert_eq!(v7.platform().to_string(), "linux/arm/v6");
    // arm64 has no entry of its own; the attestation (unknown/unknown) is never chosen.
    let arm64 = client
        .resolve_image(&target, &platform("linux/arm64"))
        .await
        .expect("arm64 takes arm");
    assert_eq!(
        arm64.manifest().digest(),
        image.manifest_for("linux/arm/v6").digest()
    );

    let err = client
        .resolve_image(&target, &platform("linux/s390x"))
        .await
        .expect_err("no s390x");
    assert!(matches!(err, RegistryError::Platform(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("has no manifest for linux/s390x; it has linux/amd64, linux/arm/v6"),
        "{message}"
    );
    assert!(!message.contains("unknown"), "{message}");

    // A single-platform image (pushed by manifest) must match.
    let single = reference(&format!("{}/sel/single:1", registry.host()));
    let manifest = image.manifest_for("linux/amd64").clone();
    let manifest = RawManifest::new(manifest.bytes().clone()).expect("manifest");
    client
        .push(
            &single,
            &PushPlan::image(manifest).expect("plan"),
            &local,
            &NoProgress,
        )
        .await
        .expect("push single");
    let ok = client
        .resolve_image(&single, &platform("linux/amd64"))
        .await
        .expect("amd64");
    assert!(ok.index().is_none());
    let err = client
        .resolve_image(&single, &platform("linux/arm64"))
        .await
        .expect_err("not arm64");
    assert!(
        err.to_string()
            .contains("single-platform image for linux/amd64"),
        "{err}"
    );

    // Unknown tags say what to check.
    let err = client
        .resolve_image(
            &reference(&format!("{}/sel/app:nope", registry.host())),
            &platform("linux/amd64"),
        )
        .await
        .expect_err("no such tag");
    assert!(
        err.to_string()
            .contains("check the repository name and tag"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_from_credential_helper_and_auths() {
    let registry = TestRegistry::start_with_basic_auth("crossdock", "s3cret");
    let work = tempfile::tempdir().expect("tempdir");
    let local = DirBlobs::new(&work.path().join("local"));
    let image = build_image(&local, &["linux/amd64", "linux/arm64"], 1, 2000);
    let target = reference(&format!("{}/auth/app:1", registry.host()));

    // Without credentials the registry refuses, and the error says how to log in.
    let err = anonymous()
        .push(&target, &image.plan(), &local, &NoProgress)
        .await
        .expect_err("unauthorized");
    assert!(
        err.to_string()
            .contains(&format!("docker login {}", registry.host())),
        "{err}"
    );
    assert!(!skopeo_sees(&registry.host(), "auth/app:1"));

    // A credential helper (docker-credential-test) answers for this registry only.
    let helpers = work.path().join("bin");
    std::fs::create_dir_all(&helpers).expect("bin dir");
    let helper = helpers.join("docker-credential-test");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread host\necho \"$host\" >> {log}\nif [ \"$host\" = \"{host}\" ]; then\n  \
             echo '{{\"ServerURL\":\"{host}\",\"Username\":\"crossdock\",\"Secret\":\"s3cret\"}}'\nelse\n  \
             echo 'credentials not found in native keychain'; exit 1\nfi\n",
            host = registry.host(),
            log = work.path().join("helper.log").display()
        ),
    )
    .expect("helper");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let config_json = work.path().join("config.json");
    std::fs::write(&config_json, r#"{"credsStore": "test"}"#).expect("config.json");
    let docker = DockerConfig::load_from(&config_json)
        .expect("load")
        .with_helper_path(&helpers);
    let client = Registry::new(quick_config(), docker);
    client
        .push(&target, &image.plan(), &local, &NoProgress)
        .await
        .expect("push with helper credentials");
    let pulled = DirBlobs::new(&work.path().join("pulled"));
    client
        .pull_image(&target, &platform("linux/arm64"), &pulled, &NoProgress)
        .await
        .expect("pull");
    let log = std::fs::read_to_string(work.path().join("helper.log")).expect("helper ran");
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [registry.host()],
        "asked once, with the registry host"
    );

    // The same through an `auths` entry (base64 user:password).
    let auths = work.path().join("auths.json");
    // base64("crossdock:s3cret")
    let entry = format!(
        r#"{{"auths": {{"http://{}": {{"auth": "Y3Jvc3Nkb2NrOnMzY3JldA=="}}}}}}"#,
        registry.host()
    );
    std::fs::write(&auths, entry).expect("auths.json");
    let client = Registry::new(
        quick_config(),
        DockerConfig::load_from(&auths).expect("load"),
    );
    let fresh = DirBlobs::new(&work.path().join("fresh"));
    let (resolved, _) = client
        .pull_image(&target, &platform("linux/amd64"), &fresh, &NoProgress)
        .await
        .expect("pull with auths");
    assert_eq!(
        resolved.manifest().digest(),
        image.manifest_for("linux/amd64").digest()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_hub_references_are_served_by_mirrors() {
    let mirror = TestRegistry::start();
    let work = tempfile::tempdir().expect("tempdir");
    let local = DirBlobs::new(&work.path().join("local"));
    let image = build_image(&local, &["linux/amd64", "linux/arm64"], 1, 5000);
    let on_mirror = reference(&format!("{}/library/golang:1.22", mirror.host()));
    anonymous()
        .push(&on_mirror, &image.plan(), &local, &NoProgress)
        .await
        .expect("seed the mirror");

    // The first mirror is down: the second serves docker.io/library/golang:1.22.
    let dead = format!("127.0.0.1:{}", registry_support::free_port());
    let mut config = quick_config();
    config
        .mirrors
        .insert("docker.io".into(), vec![dead.clone(), mirror.host()]);
    let client = Registry::new(config, DockerConfig::empty());
    let wanted = reference("golang:1.22");
    assert_eq!(wanted.to_string(), "docker.io/library/golang:1.22");
    let pulled = DirBlobs::new(&work.path().join("pulled"));
    let (resolved, _) = client
        .pull_image(&wanted, &platform("linux/arm64"), &pulled, &NoProgress)
        .await
        .expect("pull via mirror");
    assert_eq!(resolved.sources()[0].to_string(), on_mirror.to_string());
    assert_eq!(
        resolved.sources().last().map(ToString::to_string),
        Some(wanted.to_string()),
        "the registry stays as the last resort"
    );
    assert_eq!(
        resolved.manifest().digest(),
        image.manifest_for("linux/arm64").digest()
    );
    for digest in &image.layers[1] {
        assert_eq!(pulled.get(digest), local.get(digest));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_are_mounted_across_repositories() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().expect("tempdir");
    let local = DirBlobs::new(&work.path().join("local"));
    let image = build_image(&local, &["linux/amd64"], 2, 4000);
    let base = reference(&format!("{}/base/image:1", registry.host()));
    let client = anonymous();
    client
        .push(&base, &image.plan(), &local, &NoProgress)
        .await
        .expect("push base");
    let mut plan = image.plan();
    for digest in image.blob_digests() {
        plan = plan.mount_from(&digest, base.clone());
    }
    let app = reference(&format!("{}/app/image:1", registry.host()));
    let report = client
        .push(&app, &plan, &local, &NoProgress)
        .await
        .expect("push app");
    let mut mounted = report.mounted.clone();
    mounted.sort();
    assert_eq!(mounted, image.blob_digests());
    assert!(report.uploaded.is_empty());
    assert!(skopeo_sees(&registry.host(), "app/image:1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monolithic_uploads_work_too() {
    let registry = TestRegistry::start();
    let work = tempfile::tempdir().expect("tempdir");
    let local = DirBlobs::new(&work.path().join("local"));
    let image = build_image(&local, &["linux/amd64", "linux/arm64"], 1, 5 << 20);
    let config = RegistryConfig {
        monolithic_upload: true,
        ..quick_config()
    };
    let client = Registry::new(config, DockerConfig::empty());
    let target = reference(&format!("{}/mono/app:1", registry.host()));
    let report = client
        .push(&target, &image.plan(), &local, &NoProgress)
        .await
        .expect("push");
    assert_eq!(report.uploaded.len(), image.blob_digests().len());
    let pulled = DirBlobs::new(&work.path().join("pulled"));
    client
        .pull_image(&target, &platform("linux/arm64"), &pulled, &NoProgress)
        .await
        .expect("pull");
    assert_eq!(
        pulled.get(&image.layers[1][0]),
        local.get(&image.layers[1][0])
    );
}

/// The futures are `Send`, so a CLI can spawn them.
#[allow(dead_code)]
fn futures_are_send(
    client: &Registry,
    r: &ImageRef,
    p: &Platform,
    plan: &PushPlan,
    blobs: &DirBlobs,
) {
    fn send<T: Send>(_: T) {}
    send(client.push(r, plan, blobs, &NoProgress));
    send(client.pull_image(r, p, blobs, &NoProgress));
    send(client.resolve_image(r, p));
}

/// A fake registry that hands out bearer tokens for crossdock:s3cret and serves one image;
/// `corrupt` flips a byte of the layer it serves.
fn bearer_registry(
    image: &registry_support::TestImage,
    local: &DirBlobs,
    corrupt: bool,
) -> FakeServer {
    let manifest = image.manifests[0].clone();
    let mut blobs: std::collections::HashMap<String, Vec<u8>> = image
        .blob_digests()
        .into_iter()
        .filter_map(|d| Some((d.clone(), local.get(&d)?)))
        .collect();
    if corrupt {
        if let Some(layer) = blobs.get_mut(&image.layers[0][0]) {
            layer[0] ^= 0xff;
        }
    }
    let port_cell = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let cell = port_cell.clone();
    let server = FakeServer::start(move |req| {
        let realm = format!(
            "http://{}/token",
            cell.get().map(String::as_str).unwrap_or("")
        );
        let challenge = format!("Bearer realm=\"{realm}\",service=\"fake\"");
        if req.path.starts_with("/token") {
            // base64("crossdock:s3cret")
            return if req.headers.get("authorization").map(String::as_str)
                == Some("Basic Y3Jvc3Nkb2NrOnMzY3JldA==")
            {
                Response::new(200, r#"{"token":"tok-123"}"#)
                    .header("Content-Type", "application/json")
            } else {
                Response::new(401, "{}")
            };
        }
        if req.headers.get("authorization").map(String::as_str) != Some("Bearer tok-123") {
            return Response::new(
                401,
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"auth"}]}"#,
            )
            .header("WWW-Authenticate", &challenge);
        }
        if req.path == "/v2/" {
            return Response::new(200, "{}");
        }
        if req.path == "/v2/team/app/manifests/v1" {
            return Response::new(200, manifest.bytes().to_vec())
                .header("Content-Type", &manifest.media_type());
        }
        if let Some(digest) = req.path.strip_prefix("/v2/team/app/blobs/") {
            if let Some(bytes) = blobs.get(digest) {
                return Response::new(200, bytes.clone())
                    .header("Content-Type", "application/octet-stream");
            }
        }
        Response::new(
            404,
            r#"{"errors":[{"code":"BLOB_UNKNOWN","message":"unknown"}]}"#,
        )
    });
    let _ = port_cell.set(server.host());
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_are_fetched_with_basic_credentials() {
    let work = tempfile::tempdir().expect("tempdir");
    let local = DirBlobs::new(&work.path().join("local"));
    let image = build_image(&local, &["linux/amd64"], 2, 3000);
    let server = bearer_registry(&image, &local, false);
    let target = reference(&format!("{}/team/app:v1", server.host()));

    let err = anonymous()
        .resolve_image(&target, &platform("linux/amd64"))
        .await
        .expect_err("needs a token");
    assert!(err.to_string().contains("docker login"), "{err}");

    let config_json = work.path().join("config.json");
    let entry = format!(
        r#"{{"auths": {{"{}": {{"username": "crossdock", "password": "s3cret"}}}}}}"#,
        server.host()
    );
    std::fs::write(&config_json, entry).expect("config.json");
    let client = Registry::new(
        quick_config(),
        DockerConfig::load_from(&config_json).expect("load"),
    );
    let pulled = DirBlobs::new(&work.path().join("pulled"));
    let (resolved, report) = client
        .pull_image(&target, &platform("linux/amd64"), &pulled, &NoProgress)
        .await
        .expect("pull");
    assert_eq!(resolved.manifest().digest(), image.manifests[0].digest());
    assert_eq!(report.downloaded.len(), 4, "two layers, config, manifest");
    for digest in image.blob_digests() {
        assert_eq!(pulled.get(&digest), local.get(&digest));
    }
    let requests = server.requests.lock().expect("lock").clone();
    assert!(
        requests.iter().any(|r| r.path.starts_with("/token")
            && r.path.contains("scope=repository%3Ateam%2Fapp%3Apull")),
        "{requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_blobs_from_the_registry_are_rejected() {
    let work = tempfile::tempdir().expect("tempdir");
    let local = DirBlobs::new(&work.path().join("local"));
    let image = build_image(&local, &["linux/amd64"], 1, 3000);
    let server = bearer_registry(&image, &local, true);
    let config_json = work.path().join("config.json");
    let entry = format!(
        r#"{{"auths": {{"{}": {{"username": "crossdock", "password": "s3cret"}}}}}}"#,
        server.host()
    );
    std::fs::write(&config_json, entry).expect("config.json");
    let client = Registry::new(
        quick_config(),
        DockerConfig::load_from(&config_json).expect("load"),
    );
    let target = reference(&format!("{}/team/app:v1", server.host()));
    let pulled = DirBlobs::new(&work.path().join("pulled"));
    let err = client
        .pull_image(&target, &platform("linux/amd64"), &pulled, &NoProgress)
        .await
        .expect_err("corrupt layer");
    let layer = &image.layers[0][0];
    assert!(matches!(err, RegistryError::Verify { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("blob {layer} (3000 bytes) has digest sha256:")),
        "{err}"
    );
    assert!(
        pulled.files().is_empty(),
        "nothing kept: {:?}",
        pulled.files()
    );
}
