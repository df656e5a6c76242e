//! `crossdock import`, `crossdock pull` and `crossdock inspect`: images from root
//! filesystem tarballs, pulled from a registry, and shown as `docker buildx imagetools
//! inspect` shows them. Argument parsing and output only; the work is the builder's.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Write as _};
use std::path::{Path, PathBuf};

use builder::{
    export_local, export_oci_dir, export_oci_tar, unpack, Compression, DockerConfig, ImageBuilder,
    ImageRef, IndexBuilder, MediaTypes, Parsed, RawManifest, Registry, RegistryConfig, Store,
};
use crossbuild::Platform;
use oci_spec::image::Descriptor;

use crate::progress::TransferProgress;

/// Exit code when the work failed (a registry, a file, a blob).
const EXIT_FAILED: u8 = 1;
/// Exit code for arguments that make no sense.
const EXIT_USAGE: u8 = 2;

/// A failure: the message (naming the place) and the exit code.
pub(crate) struct Failed {
    code: u8,
    message: String,
}

fn failed(message: impl Into<String>) -> Failed {
    Failed {
        code: EXIT_FAILED,
        message: message.into(),
    }
}

fn usage(message: impl Into<String>) -> Failed {
    Failed {
        code: EXIT_USAGE,
        message: message.into(),
    }
}

/// Runs a command and turns its result into an exit code, printing the error.
pub(crate) fn exit_code(command: &str, result: Result<(), Failed>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(Failed { code, message }) => {
            eprintln!("crossdock {command}: {message}");
            code
        }
    }
}

// ------------------------------------------------------------------------- arguments

/// Where images are stored and how registries are reached (shared by the commands).
#[derive(Debug, clap::Args)]
pub(crate) struct StoreArgs {
    /// The content store [default: $XDG_CACHE_HOME/crossdock or ~/.cache/crossdock]
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Reach this registry (`host` or `host:port`) over plain http (repeatable).
    /// `localhost` and `127.0.0.1` always are.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    insecure_registry: Vec<String>,
}

impl StoreArgs {
    fn store(&self) -> Result<Store, Failed> {
        let root = match &self.root {
            Some(root) => root.clone(),
            None => Store::default_root().ok_or_else(|| {
                usage("cannot find a cache directory (HOME is not set): pass --root DIR")
            })?,
        };
        Store::new(&root).map_err(|e| failed(format!("content store {}: {e}", root.display())))
    }

    fn registry(&self) -> Result<Registry, Failed> {
        let credentials =
            DockerConfig::load().map_err(|e| failed(format!("registry credentials: {e}")))?;
        let config = RegistryConfig {
            insecure_registries: self.insecure_registry.clone(),
            ..RegistryConfig::default()
        };
        Ok(Registry::new(config, credentials))
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// Root filesystem tarballs (plain, gzip or zstd), one per platform; the n-th is for
    /// the n-th --platform.
    #[arg(value_name = "ROOTFS.tar", required = true)]
    rootfs: Vec<PathBuf>,
    /// The platform of each tarball, in the same order (e.g. `linux/arm64`; repeatable).
    #[arg(long, value_name = "PLATFORM", required = true)]
    platform: Vec<String>,
    /// The image reference to push to and to name the image in OCI layouts
    /// (e.g. `127.0.0.1:5000/library/busybox:latest`; repeatable: a push goes to each,
    /// the first names OCI layouts).
    #[arg(short = 't', long = "tag", value_name = "REF")]
    tag: Vec<String>,
    /// Push the index and every image to the registry of --tag (like --output type=registry).
    #[arg(long)]
    push: bool,
    /// Where to write the result (repeatable): `type=registry`, `type=oci,dest=x.tar`,
    /// `type=oci,dest=DIR,tar=false` or `type=local,dest=DIR`.
    #[arg(short = 'o', long = "output", value_name = "SPEC")]
    output: Vec<String>,
    /// An annotation `KEY=VALUE` on every image manifest; `index:KEY=VALUE` on the index;
    /// `manifest[PLATFORM]:KEY=VALUE` on one platform's manifest (repeatable).
    #[arg(long = "annotation", value_name = "KEY=VALUE")]
    annotation: Vec<String>,
    /// Layer compression.
    #[arg(long, value_enum, default_value_t = LayerCompression::Gzip)]
    compression: LayerCompression,
    /// Media types of the manifests and the index (Docker: v2.2, gzip only, no annotations).
    #[arg(long = "media-types", value_enum, default_value_t = MediaTypeFamily::Oci)]
    media_types: MediaTypeFamily,
    /// Write a JSON summary here (`containerimage.digest`, `image.name`, each platform's
    /// manifest), as `docker buildx build --metadata-file` does.
    #[arg(long = "metadata-file", value_name = "FILE")]
    metadata_file: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LayerCompression {
    Gzip,
    Zstd,
    None,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum MediaTypeFamily {
    Oci,
    Docker,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PullArgs {
    /// The image to pull (e.g. `127.0.0.1:5000/library/busybox:latest`).
    #[arg(value_name = "REF")]
    reference: String,
    /// The platform to pull from a multi-platform image [default: this machine's].
    #[arg(long, value_name = "PLATFORM")]
    platform: Option<String>,
    /// Where to write the image (repeatable): `type=local,dest=DIR` (its root
    /// filesystem), `type=oci,dest=x.tar` or `type=oci,dest=DIR,tar=false`. Without one,
    /// the image is only stored in the content store.
    #[arg(short = 'o', long = "output", value_name = "SPEC")]
    output: Vec<String>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// The image or index to show.
    #[arg(value_name = "REF")]
    reference: String,
    /// Print the manifest or index exactly as the registry stores it.
    #[arg(long)]
    raw: bool,
    /// Reach this registry (`host` or `host:port`) over plain http (repeatable).
    #[arg(long = "insecure-registry", value_name = "HOST")]
    insecure_registry: Vec<String>,
}

// ------------------------------------------------------------------------- outputs

/// One `--output` destination.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Output {
    Registry,
    OciTar(PathBuf),
    OciDir(PathBuf),
    Local(PathBuf),
}

/// Parses `type=oci,dest=x.tar[,tar=false]`, `type=local,dest=DIR`, `type=registry`.
fn parse_output(spec: &str) -> Result<Output, Failed> {
    let bad = |why: &str| usage(format!("--output {spec:?}: {why}"));
    let mut fields = BTreeMap::new();
    for part in spec.split(',') {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| bad(&format!("{part:?} is not KEY=VALUE")))?;
        if fields.insert(key.trim(), value.trim()).is_some() {
            return Err(bad(&format!("{key} is given twice")));
        }
    }
    let kind = fields
        .remove("type")
        .ok_or_else(|| bad("missing type= (registry, oci or local)"))?;
    let dest = fields.remove("dest").map(PathBuf::from);
    let tar = match fields.remove("tar") {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => return Err(bad(&format!("tar={other}: expected true or false"))),
    };
    if let Some(key) = fields.keys().next() {
        return Err(bad(&format!(
            "unknown key {key:?} (known: type, dest, tar)"
        )));
    }
    let need_dest = || dest.clone().ok_or_else(|| bad("missing dest="));
    match kind {
        "registry" if dest.is_none() => Ok(Output::Registry),
        "registry" => Err(bad("type=registry takes no dest (it pushes to --tag)")),
        "oci" if tar => Ok(Output::OciTar(need_dest()?)),
        "oci" => Ok(Output::OciDir(need_dest()?)),
        "local" if !tar => Err(bad("tar= applies to type=oci only")),
        "local" => Ok(Output::Local(need_dest()?)),
        other => Err(bad(&format!(
            "unknown type {other:?} (known: registry, oci, local)"
        ))),
    }
}

/// Writes `top` (an index or a manifest in the store) to a file-system destination.
fn export(
    store: &Store,
    top: &Descriptor,
    tag: Option<&str>,
    output: &Output,
) -> Result<(), Failed> {
    let (result, dest) = match output {
        Output::OciTar(dest) => (export_oci_tar(store, top, tag, dest), dest),
        Output::OciDir(dest) => (export_oci_dir(store, top, tag, dest, false), dest),
        Output::Local(dest) => (export_local(store, top, dest, false), dest),
        Output::Registry => return Ok(()),
    };
    let report = result.map_err(|e| failed(format!("--output {}: {e}", dest.display())))?;
    eprintln!(
        "wrote {} ({}, {} blobs, {})",
        dest.display(),
        report.platforms.join(", "),
        report.blobs,
        human_bytes(report.bytes)
    );
    Ok(())
}

// ------------------------------------------------------------------------- import

/// Where an annotation goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AnnotationTarget {
    Manifests,
    Index,
    Platform(Platform),
}

fn parse_annotation(raw: &str) -> Result<(AnnotationTarget, String, String), Failed> {
    let bad = |why: &str| usage(format!("--annotation {raw:?}: {why}"));
    let (target, kv) = if let Some(rest) = raw.strip_prefix("index:") {
        (AnnotationTarget::Index, rest)
    } else if let Some(rest) = raw.strip_prefix("manifest:") {
        (AnnotationTarget::Manifests, rest)
    } else if let Some(rest) = raw.strip_prefix("manifest[") {
        let (platform, kv) = rest
            .split_once("]:")
            .ok_or_else(|| bad("expected manifest[PLATFORM]:KEY=VALUE"))?;
        let platform = Platform::parse(platform).map_err(|e| bad(&e.to_string()))?;
        (AnnotationTarget::Platform(platform), kv)
    } else {
        (AnnotationTarget::Manifests, raw)
    };
    match kv.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((target, k.to_owned(), v.to_owned())),
        _ => Err(bad("expected KEY=VALUE")),
    }
}

/// `SOURCE_DATE_EPOCH`, when set: the times recorded in configs, history and annotations.
fn source_date_epoch() -> Result<Option<u64>, Failed> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => v.parse().map(Some).map_err(|_| {
            usage(format!(
                "SOURCE_DATE_EPOCH={v:?} is not a number of seconds since 1970"
            ))
        }),
        Err(_) => Ok(None),
    }
}

/// `crossdock import`.
pub(crate) fn import(args: ImportArgs) -> Result<(), Failed> {
    if args.rootfs.len() != args.platform.len() {
        return Err(usage(format!(
            "{} root filesystem tarballs but {} --platform values: give one --platform per \
             tarball (`crossdock import a.tar --platform linux/amd64 b.tar --platform linux/arm64`)",
            args.rootfs.len(),
            args.platform.len()
        )));
    }
    let mut platforms = Vec::new();
    for raw in &args.platform {
        let platform =
            Platform::parse(raw).map_err(|e| usage(format!("--platform {raw:?}: {e}")))?;
        if let Some(i) = platforms.iter().position(|p| p == &platform) {
            return Err(usage(format!(
                "--platform {platform} is given for both {} and {}: one image per platform",
                args.rootfs[i].display(),
                args.rootfs[platforms.len()].display()
            )));
        }
        platforms.push(platform);
    }
    let mut outputs = args
        .output
        .iter()
        .map(|s| parse_output(s))
        .collect::<Result<Vec<_>, _>>()?;
    if args.push && !outputs.contains(&Output::Registry) {
        outputs.push(Output::Registry);
    }
    let tags = args
        .tag
        .iter()
        .map(|t| ImageRef::parse(t).map_err(|e| usage(format!("--tag: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    if outputs.contains(&Output::Registry) && tags.is_empty() {
        return Err(usage("--push needs --tag REF: the reference to push to"));
    }
    let annotations = args
        .annotation
        .iter()
        .map(|a| parse_annotation(a))
        .collect::<Result<Vec<_>, _>>()?;
    for (target, key, _) in &annotations {
        if let AnnotationTarget::Platform(p) = target {
            if !platforms.contains(p) {
                return Err(usage(format!(
                    "--annotation manifest[{p}]:{key}: no tarball is imported for {p}"
                )));
            }
        }
    }
    let epoch = source_date_epoch()?;
    let compression = match args.compression {
        LayerCompression::Gzip => Compression::Gzip,
        LayerCompression::Zstd => Compression::Zstd,
        LayerCompression::None => Compression::None,
    };
    let media_types = match args.media_types {
        MediaTypeFamily::Oci => MediaTypes::Oci,
        MediaTypeFamily::Docker => MediaTypes::Docker,
    };
    let store = args.store.store()?;

    let mut index = IndexBuilder::new().source_date_epoch(epoch);
    for (target, key, value) in &annotations {
        if *target == AnnotationTarget::Index {
            index = index.annotation(key, value);
        }
    }
    for (tarball, platform) in args.rootfs.iter().zip(&platforms) {
        let layer = import_layer(&store, tarball, compression, epoch)?;
        let name = tarball
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut image = ImageBuilder::new(platform.clone())
            .layer_created_by(layer, Some(format!("crossdock import {name}")))
            .media_types(media_types)
            .source_date_epoch(epoch);
        for (target, key, value) in &annotations {
            match target {
                AnnotationTarget::Manifests => image = image.annotation(key, value),
                AnnotationTarget::Platform(p) if p == platform => {
                    image = image.annotation(key, value)
                }
                _ => {}
            }
        }
        let image = image
            .write(&store)
            .map_err(|e| failed(format!("{}: {e}", tarball.display())))?;
        index = index.manifest(image);
    }
    let index = index.write(&store).map_err(|e| failed(e.to_string()))?;
    println!("index {}", index.descriptor.digest());
    for image in &index.images {
        let layer_bytes: u64 = image.layers.iter().map(Descriptor::size).sum();
        println!(
            "  {:<14} {}  ({} layer)",
            image.platform.to_string(),
            image.manifest.digest(),
            human_bytes(layer_bytes)
        );
    }

    if outputs.is_empty() {
        eprintln!(
            "note: no --push or --output: the image is only in the content store {}",
            store.root().display()
        );
    }
    let tag_text = tags.first().map(ToString::to_string);
    for output in &outputs {
        match output {
            Output::Registry => {
                let registry = args.store.registry()?;
                for (i, target) in tags.iter().enumerate() {
                    let mut plan = index
                        .push_plan()
                        .map_err(|e| failed(format!("{target}: {e}")))?;
                    // Later tags in the same registry mount the blobs the first push
                    // uploaded instead of uploading them again.
                    if let Some(first) =
                        tags[..i].iter().find(|t| t.registry() == target.registry())
                    {
                        let digests: Vec<String> = plan
                            .blobs()
                            .iter()
                            .map(|b| b.digest().to_string())
                            .collect();
                        for digest in digests {
                            plan = plan.mount_from(&digest, first.clone());
                        }
                    }
                    let progress = TransferProgress::new();
                    let report = block_on(registry.push(target, &plan, &store, &progress))?
                        .map_err(|e| failed(e.to_string()));
                    progress.finish();
                    let report = report?;
                    eprintln!(
                        "pushed {target} as {} ({} blobs uploaded, {} already there, {} mounted)",
                        report.pushed,
                        report.uploaded.len(),
                        report.already_present.len(),
                        report.mounted.len()
                    );
                }
            }
            other => export(&store, &index.descriptor, tag_text.as_deref(), other)?,
        }
    }
    if let Some(path) = &args.metadata_file {
        let manifests: Vec<serde_json::Value> = index
            .images
            .iter()
            .map(|i| {
                serde_json::json!({
                    "platform": i.platform.to_string(),
                    "digest": i.manifest.digest().to_string(),
                    "size": i.manifest.size(),
                    "config": i.config.digest().to_string(),
                    "layers": i.layers.iter().map(|l| serde_json::json!({
                        "digest": l.digest().to_string(), "size": l.size(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let mut metadata = serde_json::json!({
            "containerimage.digest": index.descriptor.digest().to_string(),
            "containerimage.descriptor": {
                "mediaType": index.descriptor.media_type().to_string(),
                "digest": index.descriptor.digest().to_string(),
                "size": index.descriptor.size(),
            },
            "manifests": manifests,
        });
        if !tags.is_empty() {
            // Comma-separated when there are several, as buildx writes it.
            let names: Vec<String> = tags.iter().map(ToString::to_string).collect();
            metadata["image.name"] = names.join(",").into();
        }
        write_file_atomically(path, format!("{metadata:#}\n").as_bytes())
            .map_err(|e| failed(format!("--metadata-file {}: {e}", path.display())))?;
    }
    Ok(())
}

/// Unpacks a root filesystem tarball into a scratch directory of the store (refusing
/// entries that would land outside it) and makes a reproducible layer of it.
fn import_layer(
    store: &Store,
    tarball: &Path,
    compression: Compression,
    epoch: Option<u64>,
) -> Result<builder::Layer, Failed> {
    let file = File::open(tarball)
        .map_err(|e| failed(format!("{}: cannot open: {e}", tarball.display())))?;
    let scratch_root = store.root().join("tmp");
    std::fs::create_dir_all(&scratch_root)
        .map_err(|e| failed(format!("cannot create {}: {e}", scratch_root.display())))?;
    let scratch = tempfile::Builder::new()
        .prefix("import-")
        .tempdir_in(&scratch_root)
        .map_err(|e| {
            failed(format!(
                "cannot create a directory in {}: {e}",
                scratch_root.display()
            ))
        })?;
    let rootfs = scratch.path().join("rootfs");
    unpack(BufReader::with_capacity(1 << 20, file), &rootfs)
        .map_err(|e| failed(format!("{}: {e}", tarball.display())))?;
    builder::LayerBuilder::rootfs(&rootfs)
        .compression(compression)
        .source_date_epoch(epoch)
        .write(store)
        .map_err(|e| failed(format!("{}: cannot make a layer: {e}", tarball.display())))
}

// ------------------------------------------------------------------------- pull

/// `crossdock pull`.
pub(crate) fn pull(args: PullArgs) -> Result<(), Failed> {
    let reference = ImageRef::parse(&args.reference).map_err(|e| usage(e.to_string()))?;
    let platform = match &args.platform {
        Some(p) => Platform::parse(p).map_err(|e| usage(format!("--platform {p:?}: {e}")))?,
        None => Platform::host(),
    };
    let outputs = args
        .output
        .iter()
        .map(|s| parse_output(s))
        .collect::<Result<Vec<_>, _>>()?;
    if outputs.contains(&Output::Registry) {
        return Err(usage(
            "--output type=registry: pull writes to the store and to files only",
        ));
    }
    let store = args.store.store()?;
    let registry = args.store.registry()?;
    let progress = TransferProgress::new();
    let pulled = block_on(registry.pull_image(&reference, &platform, &store, &progress))?;
    progress.finish();
    let (image, report) = pulled.map_err(|e| failed(e.to_string()))?;
    eprintln!(
        "pulled {}@{} for {} ({} blobs fetched, {} already in the store)",
        reference,
        image.manifest().digest(),
        image.platform(),
        report.downloaded.len(),
        report.already_present.len()
    );
    println!("{}", image.manifest().digest());
    let top = image.manifest().descriptor().clone();
    let tag = reference.to_string();
    for output in &outputs {
        if let Err(first) = export(&store, &top, Some(&tag), output) {
            // A layer that fails to decompress or unpack may be a corrupted blob: read
            // each of the image's blobs to its end, which makes the store verify it and
            // remove it if it no longer matches its digest; fetch those again and retry.
            let corrupted = remove_corrupted(&store, &image.blobs());
            if corrupted.is_empty() {
                return Err(first);
            }
            for blob in &corrupted {
                eprintln!(
                    "blob {} was corrupted in the store and was removed; fetching it again",
                    blob.digest()
                );
            }
            let progress = TransferProgress::new();
            let again = block_on(registry.pull_blobs(&image, &store, &progress))?;
            progress.finish();
            again.map_err(|e| failed(e.to_string()))?;
            export(&store, &top, Some(&tag), output)?;
        }
    }
    Ok(())
}

/// Reads each blob the store has to its end (the store checks its digest then, and
/// removes it when it does not match); returns the blobs found corrupted.
fn remove_corrupted(store: &Store, blobs: &[Descriptor]) -> Vec<Descriptor> {
    blobs
        .iter()
        .filter(|blob| store.exists(blob.digest()))
        .filter(|blob| {
            let read = store
                .open(blob.digest())
                .map_err(|e| e.to_string())
                .and_then(|mut r| {
                    std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| e.to_string())
                });
            read.is_err() && !store.exists(blob.digest())
        })
        .cloned()
        .collect()
}

// ------------------------------------------------------------------------- inspect

/// `crossdock inspect`.
pub(crate) fn inspect(args: InspectArgs) -> Result<(), Failed> {
    let reference = ImageRef::parse(&args.reference).map_err(|e| usage(e.to_string()))?;
    let registry = StoreArgs {
        root: None,
        insecure_registry: args.insecure_registry.clone(),
    }
    .registry()?;
    // The index (or manifest), then each entry's manifest, in one runtime.
    let fetched = block_on(async {
        let (_, top) = registry.resolve(&reference).await?;
        let mut children = Vec::new();
        if let (Parsed::Index(index), false) = (top.parsed(), args.raw) {
            for entry in index.manifests() {
                let by_digest = reference.with_digest(entry.digest().as_ref());
                children.push(registry.resolve(&by_digest).await?.1);
            }
        }
        Ok::<_, builder::RegistryError>((top, children))
    })?;
    let (top, children) = fetched.map_err(|e| failed(e.to_string()))?;
    if args.raw {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(top.bytes()).and_then(|()| out.flush());
        return Ok(());
    }
    let mut text = String::new();
    let line = |text: &mut String, indent: &str, key: &str, value: &str| {
        text.push_str(&format!("{indent}{:<13}{value}\n", format!("{key}:")));
    };
    line(&mut text, "", "Name", &reference.to_string());
    line(&mut text, "", "MediaType", &top.media_type());
    line(&mut text, "", "Digest", top.digest());
    line(&mut text, "", "Size", &top.size().to_string());
    match top.parsed() {
        Parsed::Index(index) => {
            annotations(&mut text, "", index.annotations().as_ref());
            text.push_str("\nManifests:\n");
            for (i, entry) in index.manifests().iter().enumerate() {
                if i > 0 {
                    text.push('\n');
                }
                let by_digest = reference.with_digest(entry.digest().as_ref());
                line(&mut text, "  ", "Name", &by_digest.to_string());
                line(&mut text, "  ", "MediaType", entry.media_type().as_ref());
                line(
                    &mut text,
                    "  ",
                    "Platform",
                    &descriptor_platform_text(entry),
                );
                if let Some(p) = entry.platform() {
                    if let Some(v) = p.os_version() {
                        line(&mut text, "  ", "OSVersion", v);
                    }
                }
                line(&mut text, "  ", "Size", &entry.size().to_string());
                if let Some(manifest) = children.get(i) {
                    image_lines(&mut text, "  ", manifest);
                }
                annotations(&mut text, "  ", entry.annotations().as_ref());
            }
        }
        Parsed::Image(_) => image_lines(&mut text, "", &top),
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    Ok(())
}

/// `os/arch[/variant]` of an index entry as containerd formats it, `unknown/unknown` for
/// attestations, `-` when the entry has no platform.
fn descriptor_platform_text(entry: &Descriptor) -> String {
    match entry.platform() {
        Some(p) => {
            let mut s = format!("{}/{}", p.os(), p.architecture());
            if let Some(v) = p.variant() {
                s.push('/');
                s.push_str(v);
            }
            s
        }
        None => "-".into(),
    }
}

/// The config and layers of an image manifest.
fn image_lines(text: &mut String, indent: &str, manifest: &RawManifest) {
    let Parsed::Image(image) = manifest.parsed() else {
        text.push_str(&format!("{indent}(a nested index)\n"));
        return;
    };
    let config = image.config();
    text.push_str(&format!(
        "{indent}{:<13}{} ({} bytes)\n",
        "Config:",
        config.digest(),
        config.size()
    ));
    let total: u64 = image.layers().iter().map(Descriptor::size).sum();
    text.push_str(&format!(
        "{indent}{:<13}{} ({} bytes, {})\n",
        "Layers:",
        image.layers().len(),
        total,
        human_bytes(total)
    ));
    for layer in image.layers() {
        text.push_str(&format!(
            "{indent}  {} {:>12}  {}\n",
            layer.digest(),
            layer.size(),
            layer.media_type()
        ));
    }
}

fn annotations(
    text: &mut String,
    indent: &str,
    annotations: Option<&std::collections::HashMap<String, String>>,
) {
    let Some(map) = annotations.filter(|m| !m.is_empty()) else {
        return;
    };
    text.push_str(&format!("{indent}Annotations:\n"));
    let sorted: BTreeMap<_, _> = map.iter().collect();
    for (k, v) in sorted {
        text.push_str(&format!("{indent}  {k}: {v}\n"));
    }
}

// ------------------------------------------------------------------------- helpers

/// Runs a future on a multi-threaded runtime (registry I/O and store I/O overlap).
fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| failed(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(future))
}

/// `1.2 MB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Writes through a temporary file in the same directory, renamed into place.
fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_parse_like_buildx() {
        let ok = |s: &str| parse_output(s).unwrap_or_else(|e| panic!("{s}: {}", e.message));
        assert_eq!(ok("type=oci,dest=x.tar"), Output::OciTar("x.tar".into()));
        assert_eq!(ok("type=oci,dest=d,tar=false"), Output::OciDir("d".into()));
        assert_eq!(ok("type=local,dest=d"), Output::Local("d".into()));
        assert_eq!(ok("type=registry"), Output::Registry);
        let err = |s: &str| parse_output(s).err().map(|e| e.message).unwrap_or_default();
        assert!(err("type=oci").contains("missing dest="));
        assert!(err("type=tarball,dest=x").contains("unknown type \"tarball\""));
        assert!(err("type=oci,dest=x,compression=zstd").contains("unknown key \"compression\""));
        assert!(err("dest=x").contains("missing type="));
        assert!(err("type=oci,dest=x,tar=maybe").contains("tar=maybe"));
    }

    #[test]
    fn annotations_have_buildkit_prefixes() {
        let (t, k, v) = parse_annotation("org.example=1").ok().expect("plain");
        assert_eq!(
            (t, k.as_str(), v.as_str()),
            (AnnotationTarget::Manifests, "org.example", "1")
        );
        let (t, _, _) = parse_annotation("index:a=b").ok().expect("index");
        assert_eq!(t, AnnotationTarget::Index);
        let (t, k, _) = parse_annotation("manifest[linux/arm64]:a=b=c")
            .ok()
            .expect("platform");
        assert_eq!(
            t,
            AnnotationTarget::Platform(Platform::parse("linux/arm64").expect("platform"))
        );
        assert_eq!(k, "a");
        assert!(parse_annotation("novalue").is_err());
        assert!(parse_annotation("=v").is_err());
        assert!(parse_annotation("manifest[linux/arm64=x").is_err());
    }

    #[test]
    fn sizes_read_like_docker() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_234_567), "1.2 MB");
    }
}
