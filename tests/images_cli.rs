//! End to end through the `crossdock` binary: busybox from Debian's `busybox-static`
//! packages for amd64, arm64 and armhf, imported into one index, pushed to Debian's
//! `docker-registry`, checked with skopeo (an independent client), pulled back per
//! platform and compared with what went in; `crossdock inspect` shows the same digests.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use support::registry::{skopeo, TestRegistry};
use support::{
    busybox_rootfs, crossdock, peers_available, sha256, success, tree, tree_diff, FIXTURE_TOOLS,
};

fn tools() -> Vec<&'static str> {
    let mut tools = vec!["/usr/bin/docker-registry", "skopeo"];
    tools.extend_from_slice(FIXTURE_TOOLS);
    tools
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `os/arch[/variant]` of an index entry's platform.
fn platform_of(entry: &Value) -> String {
    let p = &entry["platform"];
    let mut s = format!(
        "{}/{}",
        p["os"].as_str().unwrap_or("?"),
        p["architecture"].as_str().unwrap_or("?")
    );
    if let Some(v) = p.get("variant").and_then(Value::as_str) {
        s.push('/');
        s.push_str(v);
    }
    s
}

#[test]
fn busybox_for_three_platforms_round_trips_through_a_real_registry() {
    if !peers_available("busybox_for_three_platforms_round_trips", &tools()) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let rootfs = busybox_rootfs(&work.path().join("fixtures"));
    let registry = TestRegistry::start();
    let reference = format!("{}/library/busybox:latest", registry.host());
    let mirror = format!("{}/mirror/busybox:1", registry.host());
    let store = work.path().join("store");
    let metadata = work.path().join("metadata.json");

    // Import the three tarballs into one index and push it.
    let mut args: Vec<String> = vec!["import".into()];
    for r in &rootfs {
        args.extend([
            r.tar.display().to_string(),
            "--platform".into(),
            r.platform.clone(),
        ]);
    }
    args.extend(
        [
            "-t",
            &reference,
            "-t",
            &mirror,
            "--push",
            "--annotation",
            "index:org.opencontainers.image.title=busybox",
            "--annotation",
            "manifest[linux/arm64]:org.example.arch=arm64",
            "--metadata-file",
            &metadata.display().to_string(),
            "--root",
            &store.display().to_string(),
        ]
        .map(String::from),
    );
    let pushed = crossdock(&args);
    let stdout = success(&pushed, "crossdock import --push");
    // The second tag, in another repository of the same registry, mounts every blob.
    let log = String::from_utf8_lossy(&pushed.stderr);
    assert!(log.contains(&format!("pushed {reference} as ")), "{log}");
    assert!(
        log.contains(&format!("pushed {mirror} as "))
            && log.contains("(0 blobs uploaded, 0 already there, 6 mounted)"),
        "{log}"
    );
    let meta = read_json(&metadata);
    let index_digest = meta["containerimage.digest"]
        .as_str()
        .expect("digest")
        .to_owned();
    assert!(
        stdout.contains(&format!("index {index_digest}")),
        "{stdout}"
    );
    assert_eq!(meta["image.name"], format!("{reference},{mirror}"));
    let manifests = meta["manifests"].as_array().expect("manifests");
    let reported: BTreeMap<String, String> = manifests
        .iter()
        .map(|m| {
            (
                m["platform"].as_str().expect("platform").to_owned(),
                m["digest"].as_str().expect("digest").to_owned(),
            )
        })
        .collect();
    let wanted: BTreeSet<String> = rootfs.iter().map(|r| r.platform.clone()).collect();
    assert_eq!(reported.keys().cloned().collect::<BTreeSet<_>>(), wanted);
    for (platform, digest) in &reported {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains(platform.as_str()) && l.contains(digest.as_str())),
            "{platform} {digest} in {stdout}"
        );
    }

    // skopeo sees exactly the three platforms, containerd-normalised.
    let image = format!("docker://{reference}");
    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &image]);
    assert_eq!(
        sha256(raw.as_bytes()),
        index_digest,
        "the index pushed as made"
    );
    let index: Value = serde_json::from_str(&raw).expect("index json");
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(
        index["annotations"]["org.opencontainers.image.title"],
        "busybox"
    );
    let entries = index["manifests"].as_array().expect("manifests");
    let platforms: Vec<String> = entries.iter().map(platform_of).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);
    assert!(
        entries[1]["platform"].get("variant").is_none(),
        "arm64 carries no variant: {}",
        entries[1]
    );
    for entry in entries {
        assert_eq!(
            entry["digest"].as_str(),
            reported.get(&platform_of(entry)).map(String::as_str)
        );
    }
    // The per-platform manifest annotation landed only on arm64.
    let arm64 = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!(
            "docker://{}/library/busybox@{}",
            registry.host(),
            reported["linux/arm64"]
        ),
    ]);
    assert!(arm64.contains("\"org.example.arch\":\"arm64\""), "{arm64}");

    // skopeo copy --all into an OCI layout: same digests, every blob intact.
    let layout = work.path().join("skopeo-oci");
    skopeo(&[
        "copy",
        "--all",
        "--src-tls-verify=false",
        &image,
        &format!("oci:{}:latest", layout.display()),
    ]);
    let layout_index = read_json(&layout.join("index.json"));
    assert_eq!(
        layout_index["manifests"][0]["digest"],
        index_digest.as_str()
    );
    let blobs = layout.join("blobs/sha256");
    let copied_index: Value = serde_json::from_slice(
        &std::fs::read(blobs.join(index_digest.trim_start_matches("sha256:"))).expect("index blob"),
    )
    .expect("index blob json");
    let copied: BTreeMap<String, String> = copied_index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|e| {
            (
                platform_of(e),
                e["digest"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(copied, reported);
    for m in manifests {
        for layer in m["layers"].as_array().expect("layers") {
            let digest = layer["digest"].as_str().expect("layer digest");
            let bytes = std::fs::read(blobs.join(digest.trim_start_matches("sha256:")))
                .expect("layer blob copied");
            assert_eq!(sha256(&bytes), digest);
            assert_eq!(Some(bytes.len() as u64), layer["size"].as_u64());
        }
    }

    // crossdock inspect shows the index and each platform with digests and sizes.
    let shown = success(
        &crossdock(["inspect", reference.as_str()]),
        "crossdock inspect",
    );
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines[0], format!("Name:        {reference}"));
    assert_eq!(
        lines[1],
        "MediaType:   application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(lines[2], format!("Digest:      {index_digest}"));
    assert_eq!(lines[3], format!("Size:        {}", raw.len()));
    let shown_platforms: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("  Platform:    "))
        .collect();
    assert_eq!(
        shown_platforms,
        ["linux/amd64", "linux/arm64", "linux/arm/v7"]
    );
    for m in manifests {
        let name = format!(
            "  Name:        {}/library/busybox@{}",
            registry.host(),
            m["digest"].as_str().expect("digest")
        );
        assert!(lines.contains(&name.as_str()), "{name} in\n{shown}");
        let layer = &m["layers"][0];
        let layer_line = format!(
            "    {} {:>12}  application/vnd.oci.image.layer.v1.tar+gzip",
            layer["digest"].as_str().expect("digest"),
            layer["size"].as_u64().expect("size")
        );
        assert!(
            lines.contains(&layer_line.as_str()),
            "{layer_line} in\n{shown}"
        );
    }
    assert!(
        shown.contains("  org.opencontainers.image.title: busybox"),
        "{shown}"
    );
    let raw_out = crossdock(["inspect", "--raw", reference.as_str()]);
    success(&raw_out, "crossdock inspect --raw");
    assert_eq!(
        raw_out.stdout,
        raw.as_bytes(),
        "--raw prints the stored bytes"
    );

    // Pull each platform back into a fresh store: the trees are what was imported.
    let store2 = work.path().join("store2");
    for r in &rootfs {
        let dest = work.path().join(format!("pulled-{}", r.arch));
        let out = success(
            &crossdock([
                "pull",
                reference.as_str(),
                "--platform",
                r.platform.as_str(),
                "-o",
                &format!("type=local,dest={}", dest.display()),
                "--root",
                &store2.display().to_string(),
            ]),
            "crossdock pull",
        );
        assert_eq!(
            out.trim(),
            reported[&r.platform],
            "pull prints the manifest digest"
        );
        let (expected, got) = (tree(&r.dir), tree(&dest));
        assert!(
            expected.contains_key("bin/busybox") && expected.contains_key("bin/sh"),
            "{expected:?}"
        );
        assert_eq!(
            got,
            expected,
            "{}:\n{}",
            r.platform,
            tree_diff(&expected, &got)
        );
    }
}

#[test]
fn import_writes_oci_layouts_and_root_filesystems() {
    if !peers_available("import_writes_oci_layouts_and_root_filesystems", &tools()) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let rootfs = busybox_rootfs(&work.path().join("fixtures"));
    let (tar, dir, local) = (
        work.path().join("bb.tar"),
        work.path().join("bb-oci"),
        work.path().join("bb-local"),
    );
    let mut args: Vec<String> = vec!["import".into()];
    for r in &rootfs {
        args.extend([
            r.tar.display().to_string(),
            "--platform".into(),
            r.platform.clone(),
        ]);
    }
    args.extend(
        [
            "-t",
            "example.com/busybox:1",
            "-o",
            &format!("type=oci,dest={}", tar.display()),
            "-o",
            &format!("type=oci,dest={},tar=false", dir.display()),
            "-o",
            &format!("type=local,dest={}", local.display()),
            "--root",
            &work.path().join("store").display().to_string(),
        ]
        .map(String::from),
    );
    let env = [("SOURCE_DATE_EPOCH", "4000000000")];
    let stdout = success(&support::crossdock_env(&args, &env), "crossdock import -o");
    let digest = stdout
        .lines()
        .find_map(|l| l.strip_prefix("index "))
        .expect("index line")
        .to_owned();

    // skopeo reads both layouts and finds the same index.
    for source in [
        format!("oci-archive:{}:example.com/busybox:1", tar.display()),
        format!("oci:{}:example.com/busybox:1", dir.display()),
    ] {
        let raw = skopeo(&["inspect", "--raw", &source]);
        assert_eq!(sha256(raw.as_bytes()), digest, "{source}");
    }
    // One root filesystem per platform, each the imported tree.
    for r in &rootfs {
        let sub = local.join(r.platform.replace('/', "_"));
        let (expected, got) = (tree(&r.dir), tree(&sub));
        assert_eq!(
            got,
            expected,
            "{}:\n{}",
            r.platform,
            tree_diff(&expected, &got)
        );
    }
    // Same tarballs and SOURCE_DATE_EPOCH: same digest, into a different store.
    let mut again = args.clone();
    let n = again.len();
    again.truncate(n - 8);
    again.extend([
        "--root".into(),
        work.path().join("store2").display().to_string(),
    ]);
    let stdout = success(&support::crossdock_env(&again, &env), "second import");
    assert!(stdout.contains(&format!("index {digest}")), "{stdout}");
}
