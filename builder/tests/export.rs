//! Image assembly and export: a 3-platform image from small root filesystems, its JSON,
//! its reproducibility, and its OCI layout / local exports (checked with skopeo).

// The helpers below are test code too: a failed fixture step should panic.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use builder::{
    export_local, export_oci_dir, export_oci_tar, Compression, ExportError, ImageBuilder,
    ImageConfig, ImageError, Index, IndexBuilder, LayerBuilder, MediaTypes, Store,
};
use crossbuild::Platform;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

const EPOCH: u64 = 1_700_000_000;
const CREATED: &str = "2023-11-14T22:13:20Z";
const PLATFORMS: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/arm/v7"];
const BASE_DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000001";

fn rootfs(dir: &Path, platform: &str) {
    fs::create_dir_all(dir.join("etc")).unwrap();
    fs::create_dir_all(dir.join("bin")).unwrap();
    fs::write(dir.join("etc/hostname"), format!("{platform}\n")).unwrap();
    fs::write(dir.join("bin/app"), b"#!/bin/sh\necho hi\n").unwrap();
}

fn build(
    tmp: &Path,
    store: &Store,
    types: MediaTypes,
    compression: Compression,
) -> Result<Index, ImageError> {
    let mut index = IndexBuilder::new().source_date_epoch(Some(EPOCH));
    for platform in PLATFORMS {
        let dir = tmp.join(platform.replace('/', "_"));
        rootfs(&dir, platform);
        let layer = LayerBuilder::rootfs(&dir)
            .compression(compression)
            .source_date_epoch(Some(EPOCH))
            .write(store)
            .unwrap();
        let config = ImageConfig {
            env: vec!["PATH=/bin".into()],
            cmd: Some(vec!["/bin/app".into()]),
            working_dir: Some("/".into()),
            labels: BTreeMap::from([("b".into(), "2".into()), ("a".into(), "1".into())]),
            exposed_ports: ["80/tcp".to_owned()].into(),
            ..ImageConfig::default()
        };
        let mut image = ImageBuilder::new(Platform::parse(platform).unwrap())
            .layer_created_by(layer, Some("COPY . /"))
            .empty_step("CMD [\"/bin/app\"]")
            .config(config)
            .media_types(types)
            .source_date_epoch(Some(EPOCH));
        if types == MediaTypes::Oci {
            image = image
                .base(
                    "docker.io/library/busybox:latest",
                    BASE_DIGEST.parse().unwrap(),
                )
                .annotation("org.example.team", "builders");
        }
        index = index.manifest(image.write(store)?);
    }
    index.write(store)
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

#[test]
fn three_platform_index_has_spec_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("store")).unwrap();
    let index = build(tmp.path(), &store, MediaTypes::Oci, Compression::Gzip).unwrap();

    assert_eq!(index.descriptor.digest().to_string(), sha256(&index.bytes));
    assert!(store.exists(index.descriptor.digest()));
    let v = json(&index.bytes);
    assert_eq!(v["schemaVersion"], 2);
    assert_eq!(v["mediaType"], "application/vnd.oci.image.index.v1+json");
    assert_eq!(
        v["annotations"]["org.opencontainers.image.created"],
        CREATED
    );
    let entries = v["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    let platforms: Vec<Value> = entries.iter().map(|e| e["platform"].clone()).collect();
    assert_eq!(
        platforms[0],
        serde_json::json!({"architecture":"amd64","os":"linux"})
    );
    assert_eq!(
        platforms[1],
        serde_json::json!({"architecture":"arm64","os":"linux"})
    );
    assert_eq!(
        platforms[2],
        serde_json::json!({"architecture":"arm","os":"linux","variant":"v7"})
    );
    for (entry, image) in entries.iter().zip(&index.images) {
        assert_eq!(
            entry["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(entry["digest"], image.manifest.digest().to_string());
        assert_eq!(entry["digest"], sha256(&image.manifest_bytes));

        let m = json(&image.manifest_bytes);
        assert_eq!(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
        assert_eq!(
            m["config"]["mediaType"],
            "application/vnd.oci.image.config.v1+json"
        );
        assert_eq!(m["config"]["digest"], sha256(&image.config_bytes));
        assert_eq!(
            m["layers"][0]["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        let a = &m["annotations"];
        assert_eq!(a["org.opencontainers.image.created"], CREATED);
        assert_eq!(
            a["org.opencontainers.image.base.name"],
            "docker.io/library/busybox:latest"
        );
        assert_eq!(a["org.opencontainers.image.base.digest"], BASE_DIGEST);
        assert_eq!(a["org.example.team"], "builders");

        let c = json(&image.config_bytes);
        let p = image.platform.clone();
        assert_eq!(c["architecture"], p.arch());
        assert_eq!(c["os"], "linux");
        assert_eq!(c["variant"].as_str(), p.variant());
        assert_eq!(c["created"], CREATED);
        assert_eq!(c["rootfs"]["type"], "layers");
        assert_eq!(c["rootfs"]["diff_ids"].as_array().unwrap().len(), 1);
        assert!(c["rootfs"]["diff_ids"][0]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));
        assert_eq!(c["config"]["Env"], serde_json::json!(["PATH=/bin"]));
        assert_eq!(c["config"]["Cmd"], serde_json::json!(["/bin/app"]));
        assert_eq!(
            c["config"]["ExposedPorts"],
            serde_json::json!({"80/tcp": {}})
        );
        assert_eq!(c["config"]["Labels"], serde_json::json!({"a":"1","b":"2"}));
        let history = c["history"].as_array().unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[0]["created_by"], "COPY . /");
        assert_eq!(history[1]["empty_layer"], true);
        assert_eq!(history[0]["created"], CREATED);
    }
    // The bytes are pushable as they are.
    index.push_plan().unwrap();
    index.images[0].push_plan().unwrap();
}

#[test]
fn same_inputs_give_the_same_index_digest() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sa = Store::new(a.path().join("store")).unwrap();
    let sb = Store::new(b.path().join("store")).unwrap();
    let ia = build(a.path(), &sa, MediaTypes::Oci, Compression::Gzip).unwrap();
    let ib = build(b.path(), &sb, MediaTypes::Oci, Compression::Gzip).unwrap();
    assert_eq!(ia.descriptor.digest(), ib.descriptor.digest());
    assert_eq!(ia.bytes, ib.bytes);
}

#[test]
fn docker_media_types_are_never_mixed() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("store")).unwrap();
    let index = build(tmp.path(), &store, MediaTypes::Docker, Compression::Gzip).unwrap();
    let v = json(&index.bytes);
    assert_eq!(
        v["mediaType"],
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
    assert!(v.get("annotations").is_none());
    for (entry, image) in v["manifests"].as_array().unwrap().iter().zip(&index.images) {
        assert_eq!(
            entry["mediaType"],
            "application/vnd.docker.distribution.manifest.v2+json"
        );
        let m = json(&image.manifest_bytes);
        assert_eq!(
            m["mediaType"],
            "application/vnd.docker.distribution.manifest.v2+json"
        );
        assert_eq!(
            m["config"]["mediaType"],
            "application/vnd.docker.container.image.v1+json"
        );
        assert_eq!(
            m["layers"][0]["mediaType"],
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        );
        assert!(m.get("annotations").is_none());
    }
    index.push_plan().unwrap();
}

#[test]
fn zstd_layers_are_refused_with_docker_types() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("store")).unwrap();
    let err = build(tmp.path(), &store, MediaTypes::Docker, Compression::Zstd).unwrap_err();
    assert!(matches!(err, ImageError::LayerNotDocker { .. }), "{err}");
    assert!(err.to_string().contains("zstd"), "{err}");
    // OCI types take zstd.
    build(tmp.path(), &store, MediaTypes::Oci, Compression::Zstd).unwrap();
}

#[test]
fn mixing_media_types_in_an_index_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("store")).unwrap();
    rootfs(&tmp.path().join("r"), "x");
    let layer = LayerBuilder::rootfs(tmp.path().join("r"))
        .write(&store)
        .unwrap();
    let a = ImageBuilder::new(Platform::parse("linux/amd64").unwrap())
        .layer(layer.clone())
        .write(&store)
        .unwrap();
    let b = ImageBuilder::new(Platform::parse("linux/arm64").unwrap())
        .layer(layer)
        .media_types(MediaTypes::Docker)
        .write(&store)
        .unwrap();
    let err = IndexBuilder::new()
        .manifest(a)
        .manifest(b)
        .write(&store)
        .unwrap_err();
    assert!(matches!(err, ImageError::MixedMediaTypes { .. }), "{err}");
}

fn untar(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut archive = tar::Archive::new(fs::File::open(path).unwrap());
    let mut out = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        out.insert(name, bytes);
    }
    out
}

fn check_layout(files: &BTreeMap<String, Vec<u8>>, index: &Index) {
    assert_eq!(
        json(&files["oci-layout"]),
        serde_json::json!({"imageLayoutVersion":"1.0.0"})
    );
    let top = json(&files["index.json"]);
    assert_eq!(top["schemaVersion"], 2);
    assert_eq!(top["mediaType"], "application/vnd.oci.image.index.v1+json");
    let entry = &top["manifests"][0];
    assert_eq!(entry["digest"], index.descriptor.digest().to_string());
    assert_eq!(
        entry["annotations"]["org.opencontainers.image.ref.name"],
        "v1"
    );
    let blobs: Vec<_> = files
        .keys()
        .filter(|k| k.starts_with("blobs/sha256/") && !k.ends_with('/'))
        .collect();
    // index + 3 x (manifest + config + layer)
    assert_eq!(blobs.len(), 10, "{blobs:?}");
    for name in blobs {
        let hex = name.trim_start_matches("blobs/sha256/");
        assert_eq!(sha256(&files[name]), format!("sha256:{hex}"));
    }
    assert!(files.contains_key(&format!(
        "blobs/sha256/{}",
        index.descriptor.digest().digest()
    )));
}

#[test]
fn oci_tar_export_is_a_complete_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("store")).unwrap();
    let index = build(tmp.path(), &store, MediaTypes::Oci, Compression::Gzip).unwrap();
    let dest = tmp.path().join("out/image.tar");
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let report = export_oci_tar(&store, &index.descriptor, Some("v1"), &dest).unwrap();
    assert_eq!(report.blobs, 10);
    assert_eq!(report.platforms, PLATFORMS);
    check_layout(&untar(&dest), &index);
    // Nothing left behind but the tarball.
    assert_eq!(fs::read_dir(dest.parent().unwrap()).unwrap().count(), 1);
}

fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.insert(rel, fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

#[test]
fn oci_dir_export_matches_the_tar_and_refuses_to_clobber() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("store")).unwrap();
    let index = build(tmp.path(), &store, MediaTypes::Oci, Compression::Gzip).unwrap();
    let dest = tmp.path().join("layout");
    export_oci_dir(&store, &index.descriptor, Some("v1"), &dest, false).unwrap();
    check_layout(&read_tree(&dest), &index);

    let err = export_oci_dir(&store, &index.descriptor, Some("v1"), &dest, false).unwrap_err();
    assert!(matches!(err, ExportError::DestinationNotEmpty(_)), "{err}");
    fs::write(dest.join("stray"), b"x").unwrap();
    export_oci_dir(&store, &index.descriptor, Some("v1"), &dest, true).unwrap();
    assert!(!dest.join("stray").exists());
    check_layout(&read_tree(&dest), &index);
}

fn skopeo() -> &'static str {
    let path = "/usr/bin/skopeo";
    assert!(
        Path::new(path).exists() || Command::new("skopeo").arg("--version").output().is_ok(),
        "skopeo is needed for this test: apt-get install skopeo"
    );
    if Path::new(path).exists() {
        path
    } else {
        "skopeo"
    }
}

#[test]
fn skopeo_reads_the_layouts() {
    let skopeo = skopeo();
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("store")).unwrap();
    let index = build(tmp.path(), &store, MediaTypes::Oci, Compression::Gzip).unwrap();

    let dir = tmp.path().join("layout");
    export_oci_dir(&store, &index.descriptor, Some("v1"), &dir, false).unwrap();
    let out = Command::new(skopeo)
        .args(["inspect", "--raw"])
        .arg(format!("oci:{}", dir.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, index.bytes);

    let tar = tmp.path().join("image.tar");
    export_oci_tar(&store, &index.descriptor, Some("v1"), &tar).unwrap();
    let copy = tmp.path().join("copy");
    let out = Command::new(skopeo)
        .args(["copy", "--all", "--preserve-digests"])
        .arg(format!("oci-archive:{}", tar.display()))
        .arg(format!("oci:{}:v1", copy.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copied = json(&fs::read(copy.join("index.json")).unwrap());
    assert_eq!(
        copied["manifests"][0]["digest"],
        index.descriptor.digest().to_string()
    );
    for image in &index.images {
        assert!(copy
            .join("blobs/sha256")
            .join(image.manifest.digest().digest())
            .exists());
    }
}

#[test]
fn local_export_writes_one_rootfs_per_platform() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("store")).unwrap();
    let index = build(tmp.path(), &store, MediaTypes::Oci, Compression::Gzip).unwrap();
    let dest = tmp.path().join("rootfs");
    let report = export_local(&store, &index.descriptor, &dest, false).unwrap();
    assert_eq!(report.platforms, PLATFORMS);
    for (platform, dir) in PLATFORMS
        .iter()
        .zip(["linux_amd64", "linux_arm64", "linux_arm_v7"])
    {
        let root = dest.join(dir);
        assert_eq!(
            fs::read_to_string(root.join("etc/hostname")).unwrap(),
            format!("{platform}\n")
        );
        assert!(root.join("bin/app").is_file());
    }

    // A single image goes straight into the destination.
    let single = tmp.path().join("single");
    export_local(&store, &index.images[2].manifest, &single, false).unwrap();
    assert_eq!(
        fs::read_to_string(single.join("etc/hostname")).unwrap(),
        "linux/arm/v7\n"
    );
    let err = export_local(&store, &index.descriptor, &single, false).unwrap_err();
    assert!(matches!(err, ExportError::DestinationNotEmpty(_)), "{err}");
}
