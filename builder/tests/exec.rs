//! RUN steps for real: overlay snapshots over layers built from Debian's busybox-static,
//! run by runc, as root. Skipped loudly when not root or runc is missing, unless
//! CROSSDOCK_REQUIRE_PEERS is set (CI), where that is a failure.

mod exec_support;

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::Path;

use builder::{
    Compression, Executor, LayerBuilder, LowerDir, NetworkMode, RunError, RunMount, RunStep,
    Snapshotter, Store, Stream,
};
use crossbuild::Platform;
use exec_support::{busybox_rootfs, can_run_containers};

/// A store with a busybox base layer unpacked as a lower directory.
struct Harness {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    store: Store,
    snapshotter: Snapshotter,
    executor: Executor,
    base: LowerDir,
    platform: Platform,
}

impl Harness {
    fn new(debian_arch: &str, platform: &str) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_owned();
        let rootfs = dir.join("base");
        busybox_rootfs(debian_arch, &rootfs);
        let store = Store::new(dir.join("store")).expect("store");
        let layer = LayerBuilder::rootfs(&rootfs)
            .compression(Compression::None)
            .write(&store)
            .expect("base layer");
        let snapshotter = Snapshotter::new(&store).expect("snapshotter");
        let base = snapshotter
            .lower(&store, &layer.digest, &layer.diff_id)
            .expect("unpack the base layer");
        let executor = Executor::new(&store)
            .expect("executor")
            .state_root(dir.join("runc-state"));
        Self {
            _tmp: tmp,
            dir,
            store,
            snapshotter,
            executor,
            base,
            platform: Platform::parse(platform).expect("platform"),
        }
    }

    fn native() -> Self {
        Self::new("amd64", "linux/amd64")
    }

    fn step(&self, script: &str) -> RunStep {
        RunStep::new(
            vec!["/bin/sh".into(), "-c".into(), script.into()],
            self.platform.clone(),
        )
    }
}

/// Runs `step` over `lowers` and returns (stdout, result, snapshot) with the snapshot
/// unmounted.
fn run_in(
    h: &Harness,
    lowers: &[LowerDir],
    step: &RunStep,
) -> (String, Result<(), RunError>, builder::Snapshot) {
    let snapshot = h.snapshotter.prepare(lowers).expect("prepare");
    let mut stdout = Vec::new();
    let result = {
        let mounted = snapshot.mount().expect("mount overlay");
        let mut sink = |s: Stream, line: &[u8]| {
            if s == Stream::Stdout {
                stdout.extend_from_slice(line)
            }
        };
        let result = h.executor.run(mounted.path(), step, &mut sink);
        mounted.unmount().expect("unmount");
        result
    };
    (String::from_utf8(stdout).expect("utf-8"), result, snapshot)
}

/// The entry names of a plain tar layer in the store.
fn layer_entries(store: &Store, layer: &builder::Layer) -> BTreeSet<String> {
    let mut reader = store.open(&layer.digest).expect("open layer");
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).expect("read layer");
    let mut archive = tar::Archive::new(bytes.as_slice());
    archive
        .entries()
        .expect("entries")
        .map(|e| {
            let e = e.expect("entry");
            e.path()
                .expect("path")
                .to_string_lossy()
                .trim_end_matches('/')
                .to_owned()
        })
        .collect()
}

fn all_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        for e in fs::read_dir(&d).expect("list").flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).expect("inside").display().to_string());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_run_produces_an_upper_dir_that_becomes_a_layer_with_a_whiteout() {
    if !can_run_containers("a_run_produces_an_upper_dir_that_becomes_a_layer_with_a_whiteout") {
        return;
    }
    let h = Harness::native();
    let step = h.step("mkdir -p /out && echo built > /out/result && rm /etc/motd");
    let (_, result, snapshot) = run_in(&h, std::slice::from_ref(&h.base), &step);
    result.expect("the step succeeds");

    let layer = LayerBuilder::overlay_upper(snapshot.upper())
        .compression(Compression::None)
        .write(&h.store)
        .expect("layer from the upper dir");
    let entries = layer_entries(&h.store, &layer);
    for expected in ["out", "out/result", "etc/.wh.motd"] {
        assert!(
            entries.contains(expected),
            "{expected} missing from {entries:?}"
        );
    }
    // Mount points the runtime created are not part of the step's changes.
    for stub in ["proc", "dev", "sys", "etc/hosts", "etc/resolv.conf"] {
        assert!(!entries.contains(stub), "{stub} leaked into {entries:?}");
    }

    // The layer, unpacked as a lower directory (its whiteout becomes an overlayfs one),
    // stacks over the base: the file is there and /etc/motd is hidden.
    let lower = h
        .snapshotter
        .lower(&h.store, &layer.digest, &layer.diff_id)
        .expect("unpack the new layer");
    drop(snapshot);
    let check = h.step("cat /out/result; test -e /etc/motd && echo motd-visible || echo motd-gone");
    let (out, result, _) = run_in(&h, &[h.base.clone(), lower], &check);
    result.expect("second step");
    assert_eq!(out, "built\nmotd-gone\n");
}

#[test]
fn committed_upper_dirs_stack_without_unpacking() {
    if !can_run_containers("committed_upper_dirs_stack_without_unpacking") {
        return;
    }
    let h = Harness::native();
    let (_, result, snapshot) = run_in(
        &h,
        std::slice::from_ref(&h.base),
        &h.step("echo one > /one"),
    );
    result.expect("first");
    let layer = LayerBuilder::overlay_upper(snapshot.upper())
        .write(&h.store)
        .expect("layer");
    let lower = snapshot.commit(&layer.diff_id).expect("commit");
    let (out, result, _) = run_in(&h, &[h.base.clone(), lower], &h.step("cat /one"));
    result.expect("second");
    assert_eq!(out, "one\n");
}

#[test]
fn env_cwd_and_user_are_honoured() {
    if !can_run_containers("env_cwd_and_user_are_honoured") {
        return;
    }
    let h = Harness::native();
    let mut step = h.step("echo \"$(id -u):$(id -g):$(id -G):$(pwd):$GREETING:$HOME\"");
    step.env = vec![("GREETING".into(), "hello world".into())];
    step.cwd = "/work/dir".into();
    step.user = Some("builder".into());
    let (out, result, _) = run_in(&h, std::slice::from_ref(&h.base), &step);
    result.expect("step");
    assert_eq!(
        out,
        "1000:1000:1000 50:/work/dir:hello world:/home/builder\n"
    );

    let mut step = h.step("id -u; id -g");
    step.user = Some("4242:50".into());
    let (out, result, _) = run_in(&h, std::slice::from_ref(&h.base), &step);
    result.expect("numeric user");
    assert_eq!(out, "4242\n50\n");

    let mut step = h.step("true");
    step.user = Some("nobody-here".into());
    let (_, result, _) = run_in(&h, std::slice::from_ref(&h.base), &step);
    let err = result.expect_err("unknown user");
    assert!(matches!(err, RunError::User { .. }), "{err}");
}

#[test]
fn a_failing_run_reports_its_command_exit_code_and_output() {
    if !can_run_containers("a_failing_run_reports_its_command_exit_code_and_output") {
        return;
    }
    let h = Harness::native();
    let script = "echo compiling; echo 'error: it broke' >&2; exit 3";
    let (out, result, _) = run_in(&h, std::slice::from_ref(&h.base), &h.step(script));
    assert_eq!(out, "compiling\n", "streamed to the sink");
    match result.expect_err("exit 3") {
        RunError::Failed {
            command,
            exit_code,
            output,
        } => {
            assert_eq!(command, script);
            assert_eq!(exit_code, 3);
            assert!(output.contains(&"error: it broke".to_owned()), "{output:?}");
            assert!(output.contains(&"compiling".to_owned()), "{output:?}");
        }
        other => panic!("expected Failed, got {other}"),
    }
    let (_, result, _) = run_in(&h, std::slice::from_ref(&h.base), &h.step(script));
    let message = result.expect_err("fails").to_string();
    assert!(
        message.contains("exit code 3") && message.contains("error: it broke"),
        "{message}"
    );
}

#[test]
fn network_none_has_only_loopback() {
    if !can_run_containers("network_none_has_only_loopback") {
        return;
    }
    let h = Harness::native();
    let list = "sed -n '3,$p' /proc/net/dev | sed 's/:.*//' | tr -d ' '";
    let mut step = h.step(list);
    step.network = NetworkMode::None;
    let (out, result, _) = run_in(&h, std::slice::from_ref(&h.base), &step);
    result.expect("none");
    assert_eq!(out, "lo\n");

    // The host network: the same interfaces as the host (read right after the run, as
    // other processes on the machine may add some).
    let (out, result, _) = run_in(&h, std::slice::from_ref(&h.base), &h.step(list));
    result.expect("host");
    let host: BTreeSet<String> = fs::read_to_string("/proc/net/dev")
        .expect("host interfaces")
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(|n| n.trim().to_owned()))
        .collect();
    let seen: BTreeSet<String> = out.lines().map(str::to_owned).collect();
    assert!(
        seen.len() > 1 || host.len() == 1,
        "only {seen:?} on the host network"
    );
    assert!(seen.is_subset(&host), "{seen:?} not the host's {host:?}");
}

#[test]
fn a_secret_is_readable_during_the_run_and_absent_from_the_upper_dir() {
    if !can_run_containers("a_secret_is_readable_during_the_run_and_absent_from_the_upper_dir") {
        return;
    }
    let h = Harness::native();
    let secret = h.dir.join("token.txt");
    fs::write(&secret, "s3cret-value").expect("secret");
    let mut step = h.step("cat /run/secrets/token; echo; ls -l /run/secrets/token | cut -c1-10 || true; echo done > /after");
    step.mounts = vec![RunMount::Secret {
        id: "token".into(),
        source: secret.clone(),
        target: None,
        required: true,
        mode: 0o400,
        uid: 0,
        gid: 0,
    }];
    let (out, result, snapshot) = run_in(&h, std::slice::from_ref(&h.base), &step);
    result.expect("step");
    assert!(out.starts_with("s3cret-value\n"), "{out}");
    let files = all_files(snapshot.upper());
    assert!(files.contains(&"after".to_owned()), "{files:?}");
    assert!(
        !files.iter().any(|f| f.starts_with("run")),
        "secret mount point left in the upper dir: {files:?}"
    );

    // A required secret that is missing stops the step before it runs.
    let mut step = h.step("touch /ran");
    step.mounts = vec![RunMount::Secret {
        id: "absent".into(),
        source: h.dir.join("absent"),
        target: None,
        required: true,
        mode: 0o400,
        uid: 0,
        gid: 0,
    }];
    let (_, result, snapshot) = run_in(&h, std::slice::from_ref(&h.base), &step);
    assert!(matches!(result, Err(RunError::MissingSecret { .. })));
    assert!(!snapshot.upper().join("ran").exists());
}

#[test]
fn a_cache_mount_persists_between_runs_and_stays_out_of_the_layer() {
    if !can_run_containers("a_cache_mount_persists_between_runs_and_stays_out_of_the_layer") {
        return;
    }
    let h = Harness::native();
    let cache = RunMount::Cache {
        id: "/root/.cache/demo".into(),
        target: "/root/.cache/demo".into(),
        readonly: false,
        mode: 0o755,
        uid: 0,
        gid: 0,
    };
    let mut step = h.step("echo run >> /root/.cache/demo/log; wc -l < /root/.cache/demo/log");
    step.mounts = vec![cache];
    let (out1, result, snapshot) = run_in(&h, std::slice::from_ref(&h.base), &step);
    result.expect("first");
    assert_eq!(out1.trim(), "1");
    assert!(
        !all_files(snapshot.upper())
            .iter()
            .any(|f| f.contains("demo")),
        "cache content in the upper dir"
    );
    let (out2, result, _) = run_in(&h, std::slice::from_ref(&h.base), &step);
    result.expect("second");
    assert_eq!(out2.trim(), "2");
    let log = h.executor.cache_dir("/root/.cache/demo").join("log");
    assert_eq!(fs::read_to_string(log).expect("on the host"), "run\nrun\n");
}

#[test]
fn bind_and_tmpfs_mounts_are_visible_and_writes_to_a_bind_are_thrown_away() {
    if !can_run_containers("bind_and_tmpfs_mounts_are_visible_and_writes_to_a_bind_are_thrown_away")
    {
        return;
    }
    let h = Harness::native();
    let context = h.dir.join("context");
    fs::create_dir_all(&context).expect("context");
    fs::write(context.join("input.txt"), "from the context\n").expect("input");
    let mut step = h.step(
        "cat /src/input.txt; echo scribble > /src/new.txt && echo wrote; \
         echo t > /scratch/t && cat /scratch/t",
    );
    step.mounts = vec![
        RunMount::Bind {
            source: context.clone(),
            target: "/src".into(),
            readonly: false,
        },
        RunMount::Tmpfs {
            target: "/scratch".into(),
            size: None,
        },
    ];
    let (out, result, snapshot) = run_in(&h, std::slice::from_ref(&h.base), &step);
    result.expect("step");
    assert_eq!(out, "from the context\nwrote\nt\n");
    assert!(
        !context.join("new.txt").exists(),
        "write reached the context"
    );
    let files = all_files(snapshot.upper());
    assert!(
        files.is_empty(),
        "mount points or contents leaked: {files:?}"
    );

    let mut step = h.step("echo x > /src/y");
    step.mounts = vec![RunMount::Bind {
        source: context.clone(),
        target: "/src".into(),
        readonly: true,
    }];
    let (_, result, _) = run_in(&h, std::slice::from_ref(&h.base), &step);
    assert!(
        matches!(result, Err(RunError::Failed { .. })),
        "read-only bind"
    );
}

#[test]
fn an_arm64_rootfs_runs_through_binfmt_and_qemu() {
    if !can_run_containers("an_arm64_rootfs_runs_through_binfmt_and_qemu") {
        return;
    }
    let h = Harness::new("arm64", "linux/arm64");
    let (out, result, _) = run_in(&h, std::slice::from_ref(&h.base), &h.step("uname -m"));
    if let Err(RunError::Emulation(e)) = &result {
        panic!("{e} (CI registers handlers in .ci/run with `crossdock setup`)");
    }
    result.expect("emulated step");
    assert_eq!(out, "aarch64\n");
}

#[test]
fn a_missing_qemu_handler_is_named_before_anything_runs() {
    if !can_run_containers("a_missing_qemu_handler_is_named_before_anything_runs") {
        return;
    }
    let mut h = Harness::new("arm64", "linux/arm64");
    // An enabled binfmt_misc with no handlers.
    let fake = h.dir.join("binfmt");
    fs::create_dir_all(&fake).expect("fake binfmt_misc");
    fs::write(fake.join("register"), "").expect("register");
    fs::write(fake.join("status"), "enabled\n").expect("status");
    h.executor = h.executor.clone().binfmt(builder::BinfmtMisc::at(&fake));
    let (_, result, snapshot) = run_in(&h, std::slice::from_ref(&h.base), &h.step("touch /ran"));
    let message = match result {
        Err(RunError::Emulation(e)) => e.to_string(),
        other => panic!("expected an emulation error, got {other:?}"),
    };
    assert!(
        message.contains("qemu-aarch64") && message.contains("crossdock setup"),
        "{message}"
    );
    assert!(all_files(snapshot.upper()).is_empty());
}

#[test]
fn a_step_past_its_timeout_is_killed_and_deleted() {
    if !can_run_containers("a_step_past_its_timeout_is_killed_and_deleted") {
        return;
    }
    let h = Harness::native();
    let mut step = h.step("echo started; sleep 60");
    // Long enough for the container to start on a loaded machine (it takes ~60 ms).
    step.timeout = Some(std::time::Duration::from_secs(5));
    let started = std::time::Instant::now();
    let (out, result, _) = run_in(&h, std::slice::from_ref(&h.base), &step);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(out, "started\n");
    match result {
        Err(RunError::TimedOut { output, .. }) => assert_eq!(output, ["started"]),
        other => panic!("expected TimedOut, got {other:?}"),
    }
    // Nothing is left in the runtime's state directory.
    let list = std::process::Command::new(h.executor.runtime_binary().path())
        .arg("--root")
        .arg(h.dir.join("runc-state"))
        .args(["list", "-q"])
        .output()
        .expect("runc list");
    assert_eq!(String::from_utf8_lossy(&list.stdout).trim(), "");
}
