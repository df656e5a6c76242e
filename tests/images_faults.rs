//! Bad input and faults through the `crossdock` binary: the registry stopped in the middle
//! of a push, a corrupted blob in the content store, hostile root filesystem tarballs, a
//! platform the index does not have, and arguments that make no sense.

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::registry::{http_status, skopeo_sees, TestRegistry};
use support::{crossdock, crossdock_env, peers_available, sha256, success, tree, tree_diff};

const EPOCH: (&str, &str) = ("SOURCE_DATE_EPOCH", "4000000000");

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// A tarball of a tree with one incompressible file of `size` bytes (so pushes take a
/// while), made with `tar`.
fn random_rootfs(dir: &Path, seed: u64, size: usize) -> PathBuf {
    let root = dir.join("rootfs");
    std::fs::create_dir_all(root.join("data")).expect("rootfs");
    let mut x = seed | 1;
    let mut bytes = Vec::with_capacity(size + 8);
    while bytes.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(size);
    std::fs::write(root.join("data/blob"), bytes).expect("data");
    std::fs::write(root.join("data/name"), format!("seed {seed}\n")).expect("name");
    let tar = dir.join("rootfs.tar");
    support::run_tool(
        std::process::Command::new("tar")
            .arg("-C")
            .arg(&root)
            .args(["--numeric-owner", "-cf"])
            .arg(&tar)
            .arg("."),
    );
    tar
}

/// Every blob (layers and configs) a `--metadata-file` lists.
fn blobs_of(metadata: &Value) -> Vec<String> {
    let mut all = Vec::new();
    for m in metadata["manifests"].as_array().expect("manifests") {
        for l in m["layers"].as_array().expect("layers") {
            all.push(l["digest"].as_str().expect("digest").to_owned());
        }
        all.push(m["config"].as_str().expect("config").to_owned());
    }
    all.sort();
    all.dedup();
    all
}

#[test]
fn registry_stopped_mid_push_then_rerun_uploads_only_what_is_missing() {
    if !peers_available(
        "registry_stopped_mid_push",
        &["/usr/bin/docker-registry", "skopeo", "tar"],
    ) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"];
    let mut inputs: Vec<String> = Vec::new();
    for (i, p) in platforms.iter().enumerate() {
        let tar = random_rootfs(&work.path().join(format!("in{i}")), 7 + i as u64, 6 << 20);
        inputs.extend([path(&tar), "--platform".into(), (*p).into()]);
    }
    let store = path(&work.path().join("store"));
    let metadata = work.path().join("meta.json");

    // What the image consists of (same tarballs and SOURCE_DATE_EPOCH: same digests).
    let mut args = vec!["import".to_owned()];
    args.extend(inputs.iter().cloned());
    args.extend(["--compression", "none", "--root", &store].map(String::from));
    let mut first = args.clone();
    first.extend(["--metadata-file".into(), path(&metadata)]);
    success(&crossdock_env(&first, &[EPOCH]), "import");
    let meta: Value =
        serde_json::from_slice(&std::fs::read(&metadata).expect("metadata")).expect("json");
    let all = blobs_of(&meta);
    assert_eq!(all.len(), 6, "three layers and three configs: {all:?}");

    // Kill the registry as soon as the repository links its first committed blob.
    let registry = Arc::new(Mutex::new(TestRegistry::start()));
    let (host, port) = {
        let r = registry.lock().expect("lock");
        (r.host(), r.port())
    };
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (registry, done, all) = (registry.clone(), done.clone(), all.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                if let Ok(mut r) = registry.lock() {
                    if all.iter().any(|d| r.links_blob("faults/app", d)) {
                        r.stop();
                        return true;
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            false
        })
    };
    let target = format!("{host}/faults/app:1");
    let mut push = args.clone();
    push.extend(["-t".into(), target.clone(), "--push".into()]);
    let failed = crossdock_env(&push, &[EPOCH]);
    done.store(true, Ordering::SeqCst);
    assert!(watcher.join().expect("watcher"), "the registry was stopped");
    let message = stderr(&failed);
    assert_eq!(failed.status.code(), Some(1), "{message}");
    let named: Vec<&String> = all
        .iter()
        .filter(|d| message.contains(&format!("uploading blob {d} (")))
        .collect();
    assert_eq!(named.len(), 1, "the error names the blob: {message}");
    assert!(
        message.contains("nothing was tagged: run the push again"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");

    // Same storage and port: no tag and no manifest; some blobs made it.
    registry.lock().expect("lock").restart();
    assert_eq!(
        http_status(port, "GET", "/v2/faults/app/manifests/1"),
        Some(404)
    );
    for m in meta["manifests"].as_array().expect("manifests") {
        let digest = m["digest"].as_str().expect("digest");
        assert_ne!(
            http_status(port, "GET", &format!("/v2/faults/app/manifests/{digest}")),
            Some(200),
            "no manifest pushed before every blob"
        );
    }
    let missing: Vec<&String> = all
        .iter()
        .filter(|d| http_status(port, "HEAD", &format!("/v2/faults/app/blobs/{d}")) != Some(200))
        .collect();
    assert!(
        !missing.is_empty() && missing.len() < all.len(),
        "{missing:?}"
    );

    // The rerun uploads exactly the missing blobs and tags the index.
    let rerun = crossdock_env(&push, &[EPOCH]);
    let out = success(&rerun, "rerun of the push");
    assert!(
        out.contains(&format!(
            "index {}",
            meta["containerimage.digest"].as_str().expect("digest")
        )),
        "{out}"
    );
    let expected = format!(
        "({} blobs uploaded, {} already there, 0 mounted)",
        missing.len(),
        all.len() - missing.len()
    );
    assert!(
        stderr(&rerun).contains(&expected),
        "{expected} in {}",
        stderr(&rerun)
    );
    assert!(skopeo_sees(&host, "faults/app:1"));
}

/// Pushes a small two-platform image and returns (registry, reference, rootfs dirs).
fn pushed_image(work: &Path) -> (TestRegistry, String, Vec<(String, PathBuf)>) {
    let registry = TestRegistry::start();
    let reference = format!("{}/faults/small:1", registry.host());
    let mut args = vec!["import".to_owned()];
    let mut trees = Vec::new();
    for (i, p) in ["linux/amd64", "linux/arm/v7"].iter().enumerate() {
        let dir = work.join(format!("small{i}"));
        let tar = random_rootfs(&dir, 100 + i as u64, 300_000);
        args.extend([path(&tar), "--platform".into(), (*p).into()]);
        trees.push(((*p).to_owned(), dir.join("rootfs")));
    }
    args.extend(
        [
            "-t",
            &reference,
            "--push",
            "--root",
            &path(&work.join("push-store")),
        ]
        .map(String::from),
    );
    success(&crossdock(&args), "import --push");
    (registry, reference, trees)
}

#[test]
fn a_corrupted_blob_in_the_store_is_detected_and_fetched_again() {
    if !peers_available(
        "a_corrupted_blob_in_the_store",
        &["/usr/bin/docker-registry", "tar"],
    ) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (_registry, reference, trees) = pushed_image(work.path());
    let (platform, rootfs) = &trees[1];
    let store = work.path().join("store");
    let pull = |dest: &Path| {
        crossdock([
            "pull",
            reference.as_str(),
            "--platform",
            platform.as_str(),
            "-o",
            &format!("type=local,dest={}", dest.display()),
            "--root",
            &path(&store),
        ])
    };
    success(&pull(&work.path().join("first")), "first pull");

    // Flip a byte of the (only) layer of the pulled image, in the store.
    let blobs = store.join("blobs/sha256");
    let layer = std::fs::read_dir(&blobs)
        .expect("blobs")
        .flatten()
        .map(|e| e.path())
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a layer");
    let digest = format!(
        "sha256:{}",
        layer.file_name().expect("name").to_string_lossy()
    );
    let mut bytes = std::fs::read(&layer).expect("layer");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&layer, &bytes).expect("corrupt");

    let dest = work.path().join("second");
    let out = pull(&dest);
    success(&out, "pull over a corrupted store");
    let message = stderr(&out);
    assert!(
        message.contains(&format!(
            "blob {digest} was corrupted in the store and was removed; fetching it again"
        )),
        "{message}"
    );
    assert_eq!(
        sha256(&std::fs::read(&layer).expect("fetched again")),
        digest,
        "the store holds the right content again"
    );
    let (expected, got) = (tree(rootfs), tree(&dest));
    assert_eq!(got, expected, "{}", tree_diff(&expected, &got));
}

#[test]
fn an_unknown_platform_lists_the_platforms_available() {
    if !peers_available(
        "an_unknown_platform_lists_the_platforms_available",
        &["/usr/bin/docker-registry", "tar"],
    ) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let (_registry, reference, _) = pushed_image(work.path());
    let out = crossdock([
        "pull",
        reference.as_str(),
        "--platform",
        "linux/s390x",
        "-o",
        &format!("type=local,dest={}", work.path().join("never").display()),
        "--root",
        &path(&work.path().join("store")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.contains(&format!("{reference} has no manifest for linux/s390x")),
        "{message}"
    );
    assert!(
        message.contains("it has linux/amd64, linux/arm/v7"),
        "{message}"
    );
    assert!(!work.path().join("never").exists(), "nothing written");
}

// ---------------------------------------------------------------------------------------
// Hostile tarballs, written byte by byte (tar libraries refuse to write most of these).

/// One ustar header block (plus data, padded) per entry.
fn raw_entry(name: &str, kind: u8, link: &str, data: &[u8], size_field: Option<u64>) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |field: &mut [u8], value: u64| {
        let text = format!("{value:0width$o}", width = field.len() - 1);
        field[..text.len()].copy_from_slice(text.as_bytes());
    };
    octal(&mut h[100..108], if kind == b'5' { 0o755 } else { 0o644 });
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size_field.unwrap_or(data.len() as u64));
    octal(&mut h[136..148], 1_700_000_000);
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn write_tar(path: &Path, entries: &[Vec<u8>]) {
    let mut bytes: Vec<u8> = entries.concat();
    bytes.extend_from_slice(&[0u8; 1024]);
    std::fs::write(path, bytes).expect("write tar");
}

#[test]
fn hostile_tarballs_are_refused_naming_the_entry_and_nothing_lands_outside() {
    let work = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("outside dir");
    let victim = outside.path().join("victim");
    let abs_name = format!("{}", victim.display());
    let abs_name = abs_name.trim_start_matches('/');
    let file = |name: &str| raw_entry(name, b'0', "", b"evil\n", None);
    let cases: Vec<(&str, Vec<Vec<u8>>, String)> = vec![
        (
            "dotdot",
            vec![raw_entry("etc/", b'5', "", b"", None), file("../x")],
            "refused layer entry \"../x\": '..' component".into(),
        ),
        (
            "deep-dotdot",
            vec![file("etc/../../../../../../../../../../../..")],
            "'..' component".into(),
        ),
        (
            "absolute",
            vec![file(&format!("/{abs_name}"))],
            format!("refused layer entry \"/{abs_name}\": absolute name"),
        ),
        (
            "hardlink-outside",
            vec![raw_entry("l", b'1', &format!("/{abs_name}"), b"", None)],
            format!("refused hard link \"l\" -> \"/{abs_name}\""),
        ),
        (
            "hardlink-through-symlink",
            vec![
                raw_entry("up", b'2', &outside.path().display().to_string(), b"", None),
                raw_entry("l", b'1', "up/victim", b"", None),
            ],
            "refused hard link \"l\" -> \"up/victim\"".into(),
        ),
        (
            "huge-header",
            vec![raw_entry("big", b'L', "", b"", Some(0o77_777_777_777))],
            "refused tar header \"big\" at byte 0: it announces 8589934591 bytes".into(),
        ),
    ];
    std::fs::write(&victim, "untouched\n").expect("victim");
    for (name, entries, expected) in &cases {
        let tar = work.path().join(format!("{name}.tar"));
        write_tar(&tar, entries);
        let store = work.path().join(format!("store-{name}"));
        let dest = work.path().join(format!("out-{name}"));
        let out = crossdock([
            "import",
            &path(&tar),
            "--platform",
            "linux/amd64",
            "-o",
            &format!("type=local,dest={}", dest.display()),
            "--root",
            &path(&store),
        ]);
        let message = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {message}");
        assert!(
            message.starts_with(&format!("crossdock import: {}: ", tar.display())),
            "{name}: the tarball is named: {message}"
        );
        assert!(message.contains(expected.as_str()), "{name}: {message}");
        assert!(!message.contains("panicked"), "{name}: {message}");
        assert!(!dest.exists(), "{name}: no output");
        let blobs: Vec<_> = std::fs::read_dir(store.join("blobs/sha256"))
            .map(|d| d.flatten().collect())
            .unwrap_or_default();
        assert!(blobs.is_empty(), "{name}: no blob committed: {blobs:?}");
        let scratch: Vec<_> = std::fs::read_dir(store.join("tmp"))
            .map(|d| d.flatten().collect())
            .unwrap_or_default();
        assert!(scratch.is_empty(), "{name}: scratch removed: {scratch:?}");
        assert!(!work.path().join("x").exists(), "{name}");
        assert_eq!(
            std::fs::read_to_string(&victim).expect("victim"),
            "untouched\n",
            "{name}"
        );
        let others: Vec<_> = std::fs::read_dir(outside.path())
            .expect("outside")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(others.len(), 1, "{name}: nothing new outside: {others:?}");
    }

    // A symlink pointing outside, then a write through it: resolved inside the root (as
    // BuildKit and containerd do), so the file lands in the image, not on the host.
    let tar = work.path().join("through-symlink.tar");
    write_tar(
        &tar,
        &[
            raw_entry("up", b'2', &outside.path().display().to_string(), b"", None),
            raw_entry("escape", b'2', "../../../../..", b"", None),
            file("up/written"),
            file("escape/also"),
        ],
    );
    let dest = work.path().join("out-through-symlink");
    let out = crossdock([
        "import",
        &path(&tar),
        "--platform",
        "linux/amd64",
        "-o",
        &format!("type=local,dest={}", dest.display()),
        "--root",
        &path(&work.path().join("store-symlink")),
    ]);
    success(&out, "import with symlinks pointing outside");
    assert!(
        !outside.path().join("written").exists(),
        "nothing on the host"
    );
    assert!(!Path::new("/also").exists());
    let inside = dest.join(outside.path().strip_prefix("/").expect("absolute"));
    assert_eq!(
        std::fs::read_to_string(inside.join("written")).expect("landed inside"),
        "evil\n"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("also")).expect("landed at the root"),
        "evil\n"
    );
}

#[test]
fn nonsense_arguments_are_usage_errors() {
    let work = tempfile::tempdir().expect("tempdir");
    let tar = work.path().join("empty.tar");
    write_tar(&tar, &[]);
    let t = path(&tar);
    let root = path(&work.path().join("store"));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["import", &t, &t, "--platform", "linux/amd64"],
            "2 root filesystem tarballs but 1 --platform values",
        ),
        (
            vec![
                "import",
                &t,
                "--platform",
                "linux/arm64",
                &t,
                "--platform",
                "linux/aarch64",
            ],
            "--platform linux/arm64 is given for both",
        ),
        (
            vec!["import", &t, "--platform", "linux/amd64", "--push"],
            "--push needs --tag REF",
        ),
        (
            vec![
                "import",
                &t,
                "--platform",
                "linux/amd64",
                "-o",
                "type=docker,dest=x",
            ],
            "unknown type \"docker\"",
        ),
        (
            vec![
                "import",
                &t,
                "--platform",
                "linux/amd64",
                "-o",
                "type=local",
            ],
            "missing dest=",
        ),
        (
            vec![
                "import",
                &t,
                "--platform",
                "linux/amd64",
                "--annotation",
                "manifest[linux/arm64]:a=b",
            ],
            "no tarball is imported for linux/arm64",
        ),
        (
            vec![
                "import",
                &t,
                "--platform",
                "linux/amd64",
                "--media-types",
                "docker",
                "--annotation",
                "a=b",
            ],
            "Docker v2.2 manifests and lists cannot carry annotations",
        ),
        (vec!["pull", "UPPER/case"], "UPPER/case"),
    ];
    for (args, expected) in cases {
        let mut full = args.clone();
        full.extend(["--root", &root]);
        let out = crossdock(&full);
        let message = stderr(&out);
        assert!(!out.status.success(), "{args:?}");
        assert!(message.contains(expected), "{args:?}: {message}");
        assert!(!message.contains("panicked"), "{args:?}: {message}");
    }
}
