//! Spec builder, validator and mount preparation, without root: the system calls go to
//! the recording implementation.

use std::path::PathBuf;
use std::sync::Arc;

use oci_spec::runtime::{Capability, LinuxNamespace, LinuxNamespaceType, Mount, Spec};

use super::spec::{build_spec, MountSources, DEFAULT_CAPABILITIES, MAX_NOFILE};
use super::user::ResolvedUser;
use super::validate::{validate, HostLimits, InvalidSpec};
use super::*;
use crate::syscall::recording::{Call, RecordingSyscall};

fn platform() -> Platform {
    Platform::parse("linux/amd64").expect("platform")
}

fn step(script: &str) -> RunStep {
    RunStep::new(
        vec!["/bin/sh".into(), "-c".into(), script.into()],
        platform(),
    )
}

fn sources(step: &RunStep) -> MountSources {
    MountSources {
        caches: step
            .mounts
            .iter()
            .map(|m| matches!(m, RunMount::Cache { .. }).then(|| PathBuf::from("/cache/abc")))
            .collect(),
        secrets_dir: PathBuf::from("/bundle/secrets"),
        writable_binds: vec![None; step.mounts.len()],
        hosts_file: PathBuf::from("/bundle/hosts"),
    }
}

fn spec_of(step: &RunStep) -> Spec {
    build_spec(
        step,
        Path::new("/snap/rootfs"),
        &ResolvedUser::root(),
        &sources(step),
        1 << 20,
    )
}

const HOST: HostLimits = HostLimits {
    nofile_hard: 1 << 20,
};

fn destinations(spec: &Spec) -> Vec<String> {
    spec.mounts()
        .iter()
        .flatten()
        .map(|m| m.destination().display().to_string())
        .collect()
}

fn mount_at<'a>(spec: &'a Spec, dest: &str) -> &'a Mount {
    spec.mounts()
        .iter()
        .flatten()
        .find(|m| m.destination() == Path::new(dest))
        .unwrap_or_else(|| panic!("no mount at {dest}"))
}

fn namespaces(spec: &Spec) -> Vec<LinuxNamespaceType> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default()
        .iter()
        .map(LinuxNamespace::typ)
        .collect()
}

#[test]
fn a_default_step_gets_dockers_sandbox() {
    let mut s = step("make");
    s.env = vec![("CC".into(), "gcc".into())];
    s.cwd = "/src".into();
    let spec = spec_of(&s);
    validate(&spec, &HOST).expect("valid");

    let process = spec.process().as_ref().expect("process");
    assert_eq!(process.args().as_deref(), Some(&s.args[..]));
    assert_eq!(
        process.env().as_deref(),
        Some(
            &[
                format!("PATH={}", spec::DEFAULT_PATH),
                "CC=gcc".to_owned(),
                "HOME=/root".to_owned()
            ][..]
        )
    );
    assert_eq!(process.cwd(), Path::new("/src"));
    assert_eq!(process.terminal(), Some(false));
    assert_eq!((process.user().uid(), process.user().gid()), (0, 0));
    let caps = process.capabilities().as_ref().expect("caps");
    let docker: std::collections::HashSet<Capability> = DEFAULT_CAPABILITIES.into_iter().collect();
    assert_eq!(caps.bounding().as_ref(), Some(&docker));
    assert_eq!(caps.effective().as_ref(), Some(&docker));
    assert!(!docker.contains(&Capability::SysAdmin));
    let rlimits = process.rlimits().as_ref().expect("rlimits");
    assert_eq!(
        (rlimits[0].soft(), rlimits[0].hard()),
        (MAX_NOFILE, MAX_NOFILE)
    );

    assert_eq!(spec.hostname().as_deref(), Some("crossdock"));
    assert_eq!(
        spec.root().as_ref().map(|r| r.path().clone()),
        Some(PathBuf::from("/snap/rootfs"))
    );
    assert_eq!(
        destinations(&spec),
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/dev/shm",
            "/dev/mqueue",
            "/sys",
            "/etc/resolv.conf",
            "/etc/hosts"
        ]
    );
    let sys = mount_at(&spec, "/sys");
    assert!(sys.options().iter().flatten().any(|o| o == "ro"));
    let resolv = mount_at(&spec, "/etc/resolv.conf");
    assert_eq!(
        resolv.source().as_deref(),
        Some(Path::new("/etc/resolv.conf"))
    );
    // The host network: no network namespace.
    assert_eq!(
        namespaces(&spec),
        [
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Ipc,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::Mount
        ]
    );
    let json = serde_json::to_value(&spec).expect("serialises");
    assert_eq!(json["process"]["rlimits"][0]["type"], "RLIMIT_NOFILE");
    assert!(json["linux"]["maskedPaths"]
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p == "/proc/kcore")));
}

#[test]
fn the_nofile_limit_never_exceeds_the_hosts() {
    let spec = build_spec(
        &step("true"),
        Path::new("/r"),
        &ResolvedUser::root(),
        &sources(&step("true")),
        4096,
    );
    let process = spec.process().as_ref().expect("process");
    let rlimit = &process.rlimits().as_ref().expect("rlimits")[0];
    assert_eq!((rlimit.soft(), rlimit.hard()), (4096, 4096));
    validate(&spec, &HostLimits { nofile_hard: 4096 }).expect("valid");
    let err = validate(&spec, &HostLimits { nofile_hard: 1024 }).expect_err("too high");
    assert!(
        matches!(err, InvalidSpec::Rlimit { max: 1024, .. }),
        "{err}"
    );
}

#[test]
fn network_none_gets_its_own_namespace_and_a_loopback_hosts_file() {
    let mut s = step("true");
    s.network = NetworkMode::None;
    let spec = spec_of(&s);
    assert!(namespaces(&spec).contains(&LinuxNamespaceType::Network));
    assert!(!destinations(&spec).contains(&"/etc/resolv.conf".to_owned()));
    assert_eq!(
        mount_at(&spec, "/etc/hosts").source().as_deref(),
        Some(Path::new("/bundle/hosts"))
    );
}

#[test]
fn step_mounts_map_to_binds_and_tmpfs() {
    let mut s = step("true");
    s.mounts = vec![
        RunMount::Cache {
            id: "go".into(),
            target: "/root/go".into(),
            readonly: false,
            mode: 0o755,
            uid: 0,
            gid: 0,
        },
        RunMount::Secret {
            id: "npmrc".into(),
            source: "/host/npmrc".into(),
            target: None,
            required: false,
            mode: 0o400,
            uid: 0,
            gid: 0,
        },
        RunMount::Bind {
            source: "/ctx".into(),
            target: "/src".into(),
            readonly: true,
        },
        RunMount::Tmpfs {
            target: "/tmp".into(),
            size: Some(1 << 20),
        },
    ];
    let spec = spec_of(&s);
    validate(&spec, &HOST).expect("valid");
    let cache = mount_at(&spec, "/root/go");
    assert_eq!(cache.source().as_deref(), Some(Path::new("/cache/abc")));
    assert!(cache.options().iter().flatten().any(|o| o == "rw"));
    let secret = mount_at(&spec, "/run/secrets/npmrc");
    assert_eq!(
        secret.source().as_deref(),
        Some(Path::new("/bundle/secrets/1"))
    );
    assert!(secret.options().iter().flatten().any(|o| o == "ro"));
    let bind = mount_at(&spec, "/src");
    assert_eq!(bind.source().as_deref(), Some(Path::new("/ctx")));
    assert!(bind.options().iter().flatten().any(|o| o == "ro"));
    let tmpfs = mount_at(&spec, "/tmp");
    assert_eq!(tmpfs.typ().as_deref(), Some("tmpfs"));
    assert!(tmpfs
        .options()
        .iter()
        .flatten()
        .any(|o| o == "size=1048576"));
}

#[test]
fn the_validator_names_each_problem() {
    let check = |edit: &dyn Fn(&mut Spec)| {
        let mut spec = spec_of(&step("true"));
        edit(&mut spec);
        validate(&spec, &HOST).expect_err("invalid")
    };
    let process = |spec: &mut Spec| spec.process_mut().as_mut().expect("process").clone();
    let set_process = |spec: &mut Spec, p: oci_spec::runtime::Process| {
        spec.set_process(Some(p));
    };

    let err = check(&|s| {
        let mut p = process(s);
        p.set_args(Some(vec![]));
        set_process(s, p);
    });
    assert_eq!(err, InvalidSpec::NoCommand);

    let err = check(&|s| {
        let mut p = process(s);
        p.set_cwd("work".into());
        set_process(s, p);
    });
    assert_eq!(err, InvalidSpec::Cwd("work".into()));

    let err = check(&|s| {
        let mut p = process(s);
        p.set_env(Some(vec!["=oops".into()]));
        set_process(s, p);
    });
    assert_eq!(err, InvalidSpec::Env("=oops".into()));

    let err = check(&|s| {
        let mut p = process(s);
        p.set_terminal(Some(true));
        set_process(s, p);
    });
    assert_eq!(err, InvalidSpec::Terminal);

    let with_mount = |dest: &str, typ: &str, source: &str| {
        let dest = dest.to_owned();
        let typ = typ.to_owned();
        let source = source.to_owned();
        move |s: &mut Spec| {
            let mut m = Mount::default();
            m.set_destination(PathBuf::from(&dest));
            m.set_typ(Some(typ.clone()));
            m.set_source(Some(PathBuf::from(&source)));
            let mut mounts = s.mounts().clone().unwrap_or_default();
            mounts.push(m);
            s.set_mounts(Some(mounts));
        }
    };
    assert_eq!(
        check(&with_mount("/etc/hosts", "bind", "/x")),
        InvalidSpec::DuplicateMount("/etc/hosts".into())
    );
    assert_eq!(
        check(&with_mount("/etc/hosts/", "bind", "/x")),
        InvalidSpec::DuplicateMount("/etc/hosts/".into())
    );
    assert_eq!(
        check(&with_mount("data", "bind", "/x")),
        InvalidSpec::MountTarget("data".into())
    );
    assert_eq!(
        check(&with_mount("/a/../etc", "bind", "/x")),
        InvalidSpec::MountTarget("/a/../etc".into())
    );
    assert_eq!(
        check(&with_mount("/proc", "tmpfs", "tmpfs")),
        InvalidSpec::DuplicateMount("/proc".into())
    );
    assert_eq!(
        check(&with_mount("/", "tmpfs", "tmpfs")),
        InvalidSpec::ReservedMount("/".into())
    );
    assert_eq!(
        check(&with_mount("/src", "bind", "ctx")),
        InvalidSpec::BindSource("ctx".into(), "/src".into())
    );

    let err = check(&|s| {
        let mut linux = s.linux().clone().expect("linux");
        let mut ns = linux.namespaces().clone().unwrap_or_default();
        let mut user = LinuxNamespace::default();
        user.set_typ(LinuxNamespaceType::User);
        ns.push(user);
        linux.set_namespaces(Some(ns));
        s.set_linux(Some(linux));
    });
    assert!(
        matches!(err, InvalidSpec::Namespace(ref n, _) if n == "user"),
        "{err}"
    );

    let err = check(&|s| {
        let mut linux = s.linux().clone().expect("linux");
        linux.set_namespaces(Some(vec![]));
        s.set_linux(Some(linux));
    });
    assert!(
        err.to_string().contains("every build step needs its own"),
        "{err}"
    );

    let err = check(&|s| {
        let mut p = process(s);
        let mut caps = p.capabilities().clone().expect("caps");
        let mut effective = caps.effective().clone().expect("effective");
        effective.insert(Capability::SysAdmin);
        caps.set_effective(Some(effective));
        p.set_capabilities(Some(caps));
        set_process(s, p);
    });
    assert_eq!(err, InvalidSpec::Capabilities("SysAdmin".into()));
}

fn executor(syscall: Arc<RecordingSyscall>, dir: &Path) -> Executor {
    Executor {
        runtime: RuntimeBinary::at("/bin/false"),
        state_root: dir.join("state"),
        cache_root: dir.join("cache"),
        work_root: dir.join("bundles"),
        binfmt: BinfmtMisc::default(),
        host: platform(),
        syscall,
    }
}

#[test]
fn secrets_go_to_a_private_tmpfs_and_everything_is_unmounted_in_reverse() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rec = Arc::new(RecordingSyscall::default());
    let exec = executor(rec.clone(), tmp.path());
    let secret_src = tmp.path().join("token");
    fs::write(&secret_src, "value").expect("secret");
    let context = tmp.path().join("ctx");
    fs::create_dir(&context).expect("ctx");
    let mut s = step("true");
    s.mounts = vec![
        RunMount::Secret {
            id: "token".into(),
            source: secret_src,
            target: None,
            required: true,
            mode: 0o440,
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
        },
        RunMount::Bind {
            source: context.clone(),
            target: "/src".into(),
            readonly: false,
        },
    ];
    let bundle = tmp.path().join("bundles/b1");
    let sources = exec.plan_sources(&s, &bundle);
    let merged = bundle.join("binds/1/merged");
    assert_eq!(sources.writable_binds, [None, Some(merged.clone())]);
    fs::create_dir_all(&bundle).expect("bundle");
    let mut prepared = Prepared {
        syscall: rec.as_ref(),
        bundle: bundle.clone(),
        mounts: Vec::new(),
        stubs: Vec::new(),
    };
    exec.prepare_mounts(&s, &sources, &mut prepared)
        .expect("prepared");
    let secret_file = bundle.join("secrets/0");
    assert_eq!(fs::read_to_string(&secret_file).expect("copied"), "value");
    assert_eq!(
        fs::metadata(&secret_file)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777,
        0o440
    );
    prepared.finish().expect("cleaned up");
    assert!(!bundle.exists());
    let secrets_dir = bundle.join("secrets");
    assert_eq!(
        rec.calls(),
        vec![
            Call::Mount {
                source: "tmpfs".into(),
                target: secrets_dir.clone(),
                fstype: "tmpfs".into(),
                flags: MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
                data: Some("mode=0700,size=16m".into()),
            },
            Call::Mount {
                source: "overlay".into(),
                target: merged.clone(),
                fstype: "overlay".into(),
                flags: MountFlags::empty(),
                data: Some(format!(
                    "lowerdir={},upperdir={},workdir={}",
                    context.display(),
                    bundle.join("binds/1/upper").display(),
                    bundle.join("binds/1/work").display()
                )),
            },
            Call::Umount {
                target: merged,
                detach: false
            },
            Call::Umount {
                target: secrets_dir,
                detach: false
            },
        ]
    );
}

#[test]
fn optional_missing_secrets_are_skipped_required_ones_stop_the_step() {
    let mut s = step("true");
    let secret = |required| RunMount::Secret {
        id: "x".into(),
        source: "/nonexistent/secret".into(),
        target: None,
        required,
        mode: 0o400,
        uid: 0,
        gid: 0,
    };
    s.mounts = vec![secret(false)];
    assert!(effective_step(&s).expect("skipped").mounts.is_empty());
    s.mounts = vec![secret(true)];
    let err = effective_step(&s).expect_err("required");
    assert!(err.to_string().contains("--secret id=x,src="), "{err}");
}

#[test]
fn the_command_shown_is_what_the_user_wrote() {
    assert_eq!(step("make -j4").command(), "make -j4");
    let exec = RunStep::new(vec!["/usr/bin/env".into(), "true".into()], platform());
    assert_eq!(exec.command(), "/usr/bin/env true");
}

#[test]
fn stubs_are_the_first_missing_component_and_symlinks_are_not_followed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    fs::create_dir_all(root.join("etc")).expect("etc");
    std::os::unix::fs::symlink("/run", root.join("var-run")).expect("link");
    let mut s = step("true");
    s.mounts = vec![
        RunMount::Tmpfs {
            target: "/var-run/x".into(),
            size: None,
        },
        RunMount::Tmpfs {
            target: "/a/b/c".into(),
            size: None,
        },
    ];
    let spec = spec_of(&s);
    let stubs: Vec<PathBuf> = missing_mount_points(root, &spec)
        .into_iter()
        .map(|s| s.path)
        .collect();
    assert_eq!(
        stubs,
        [
            root.join("proc"),
            root.join("dev"),
            root.join("sys"),
            root.join("etc/resolv.conf"),
            root.join("etc/hosts"),
            root.join("a"),
        ]
    );
    fs::create_dir_all(root.join("a/b/c")).expect("runtime-made");
    assert!(only_stubs(&root.join("a")));
    fs::write(root.join("a/b/real"), "content").expect("step output");
    assert!(!only_stubs(&root.join("a")));
}
