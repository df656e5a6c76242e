//! The build pipeline end to end, short of a real RUN executor: a two-platform base
//! image pushed to Debian's `docker-registry`, a multi-stage Dockerfile evaluated by the
//! frontend, the step graph resolved against the registry, the scheduler running it over
//! a scripted executor, and the resulting index pushed back and read by skopeo. Needs
//! `docker-registry` and `skopeo` (CI's .ci/run installs them).

mod registry_support;

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;

use builder::{
    build_graph, CacheIndex, Compression, DockerConfig, ExecError, GraphInput, ImageBuilder,
    ImageConfig, ImageRef, IndexBuilder, LayerBuilder, NoProgress, Registry, RegistryBases,
    RegistryConfig, RunRequest, ScheduleOptions, Scheduler, SourceTree, StepRunner, Store,
};
use crossbuild::Platform;
use frontend::eval::{evaluate, EvalOptions};
use frontend::instructions::parse_program;
use frontend::source::SourceFile;
use frontend::syntax::parse;
use registry_support::{skopeo, TestRegistry};

const PLATFORMS: [&str; 2] = ["linux/amd64", "linux/arm64"];

/// Writes `out` in the working directory: the argv and the environment it got.
#[derive(Default)]
struct ScriptedExecutor {
    calls: Mutex<Vec<String>>,
}

impl StepRunner for ScriptedExecutor {
    fn run(&self, req: &RunRequest<'_>) -> Result<(), ExecError> {
        let line = format!("{} [{}]", req.spec.argv.join(" "), req.spec.platform);
        self.calls.lock().expect("test fixture").push(line.clone());
        let dir = req.upper.join(req.spec.cwd.trim_start_matches('/'));
        fs::create_dir_all(&dir).expect("test fixture");
        fs::write(
            dir.join("out"),
            format!("{line}\n{}\n", req.spec.env.join("\n")),
        )
        .expect("test fixture");
        Ok(())
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("test fixture")
}

/// A base image for both platforms with an `app` user, pushed as `<host>/base:1`.
fn push_base(registry: &Registry, host: &str, tmp: &Path) -> String {
    let store = Store::new(tmp.join("base-store")).expect("test fixture");
    let mut index = IndexBuilder::new().source_date_epoch(Some(0));
    for p in PLATFORMS {
        let root = tmp.join(p.replace('/', "_"));
        fs::create_dir_all(root.join("etc")).expect("test fixture");
        fs::write(
            root.join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .expect("test fixture");
        fs::write(root.join("etc/group"), "root:x:0:\napp:x:1000:\n").expect("test fixture");
        fs::write(root.join("etc/arch"), p).expect("test fixture");
        let layer = LayerBuilder::rootfs(&root)
            .compression(Compression::Gzip)
            .source_date_epoch(Some(0))
            .write(&store)
            .expect("test fixture");
        let image = ImageBuilder::new(Platform::parse(p).expect("test fixture"))
            .layer_created_by(layer, Some("ADD rootfs / # buildkit"))
            .config(ImageConfig {
                env: vec!["PATH=/usr/bin:/bin".into()],
                cmd: Some(vec!["/bin/sh".into()]),
                ..ImageConfig::default()
            })
            .source_date_epoch(Some(0))
            .write(&store)
            .expect("test fixture");
        index = index.manifest(image);
    }
    let index = index.write(&store).expect("test fixture");
    let reference = format!("{host}/base:1");
    runtime()
        .block_on(registry.push(
            &ImageRef::parse(&reference).expect("test fixture"),
            &index.push_plan().expect("test fixture"),
            &store,
            &NoProgress,
        ))
        .expect("test fixture");
    reference
}

fn client() -> Registry {
    Registry::new(RegistryConfig::default(), DockerConfig::empty())
}

#[test]
fn multi_stage_two_platform_build_through_a_real_registry() {
    let registry = TestRegistry::start();
    let host = registry.host();
    let tmp = tempfile::tempdir().unwrap();
    let base = push_base(&client(), &host, tmp.path());

    let ctx = tmp.path().join("ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("go.mod"), "module example\n").unwrap();
    fs::write(ctx.join("main.go"), "package main\n").unwrap();
    fs::write(ctx.join(".dockerignore"), "*.secret\n").unwrap();
    fs::write(ctx.join("token.secret"), "hunter2\n").unwrap();
    let text = format!(
        "FROM --platform=$BUILDPLATFORM {base} AS build\n\
         WORKDIR /src\n\
         COPY go.mod ./\n\
         RUN go mod download\n\
         COPY . .\n\
         ARG TARGETARCH\n\
         RUN GOARCH=$TARGETARCH go build -o out .\n\
         FROM {base}\n\
         COPY --from=build --chown=app:app /src/out /app/out\n\
         USER app\n\
         CMD [\"/app/out\"]\n"
    );
    let df = parse(SourceFile::new("Dockerfile", text)).unwrap();
    let program = parse_program(&df).unwrap();
    let opts = EvalOptions {
        build_platform: Platform::parse("linux/amd64").unwrap(),
        build_args: Default::default(),
        target_stage: None,
    };
    let evals: Vec<_> = PLATFORMS
        .iter()
        .map(|p| evaluate(&df, &program, &Platform::parse(p).unwrap(), &opts).unwrap())
        .collect();

    let store = Store::new(tmp.path().join("store")).unwrap();
    let cache = CacheIndex::new(&store).unwrap();
    let context = SourceTree::context(&ctx, None).unwrap();
    let build = |exec: &ScriptedExecutor| {
        let bases = RegistryBases::new(client(), store.clone()).unwrap();
        let graph = build_graph(&GraphInput {
            df: &df,
            program: &program,
            evals: &evals,
            context: &context,
            resolver: &bases,
        })
        .unwrap();
        Scheduler {
            graph: &graph,
            executor: exec,
            resolver: &bases,
            context: &context,
            store: &store,
            cache: &cache,
            work: tmp.path().join("work"),
            options: ScheduleOptions {
                jobs: 2,
                no_cache: false,
                compression: Compression::Gzip,
                source_date_epoch: Some(0),
            },
            events: None,
        }
        .run()
        .unwrap()
    };

    let exec = ScriptedExecutor::default();
    let out = build(&exec);
    let calls = exec.calls.lock().unwrap().clone();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.contains("go mod download"))
            .count(),
        1,
        "shared by both platforms: {calls:?}"
    );
    assert_eq!(calls.iter().filter(|c| c.contains("go build")).count(), 2);

    // Assemble and push the index; skopeo sees both platforms.
    let mut index = IndexBuilder::new().source_date_epoch(Some(0));
    for img in &out.images {
        index = index.manifest(
            img.image_builder()
                .source_date_epoch(Some(0))
                .write(&store)
                .unwrap(),
        );
    }
    let index = index.write(&store).unwrap();
    let target = format!("{host}/app:1");
    runtime()
        .block_on(client().push(
            &ImageRef::parse(&target).unwrap(),
            &index.push_plan().unwrap(),
            &store,
            &NoProgress,
        ))
        .unwrap();
    let raw: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{target}"),
    ]))
    .unwrap();
    let archs: Vec<&str> = raw["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(archs, ["amd64", "arm64"]);

    // The arm64 image: base layer + the copied binary, owned by app, built for arm64.
    let arm = &index.images[1];
    let config: serde_json::Value = serde_json::from_slice(&arm.config_bytes).unwrap();
    assert_eq!(config["config"]["User"], "app");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["/app/out"]));
    let history: Vec<&str> = config["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["created_by"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "ADD rootfs / # buildkit",
            "COPY --chown=app:app /src/out /app/out # buildkit",
            "USER app",
            "CMD [\"/app/out\"]"
        ]
    );
    let layer = &out.images[1].layers[1];
    let unpacked = tmp.path().join("check");
    builder::unpack(store.open(&layer.digest).unwrap(), &unpacked).unwrap();
    let meta = fs::metadata(unpacked.join("app/out")).unwrap();
    if rustix::process::geteuid().is_root() {
        assert_eq!((meta.uid(), meta.gid()), (1000, 1000));
    }
    let mut s = String::new();
    fs::File::open(unpacked.join("app/out"))
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    assert!(
        s.contains("GOARCH=$TARGETARCH go build -o out . [linux/amd64]"),
        "{s}"
    );
    assert!(s.contains("TARGETARCH=arm64"), "{s}");

    // The secret was never copied: `COPY . .` honoured .dockerignore.
    let build_layers: Vec<_> = out.nodes.iter().flat_map(|n| n.layers.iter()).collect();
    for l in build_layers {
        assert!(!l.dir.join("src/token.secret").exists());
    }

    // Rebuild: nothing runs, same images.
    let exec2 = ScriptedExecutor::default();
    let again = build(&exec2);
    assert!(exec2.calls.lock().unwrap().is_empty());
    assert_eq!(again.images[1].layers, out.images[1].layers);
}
