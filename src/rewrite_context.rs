//! What `crossdock rewrite` reads from the build context: the Cargo manifest (for
//! the names of the binaries to copy back from `target/<triple>/`) and the Makefile
//! (for which of CC, CXX and AR to pass to `make`). Both are optional; a file that
//! cannot be read counts as absent, and the rewrite then takes the generic path.

use std::path::{Path, PathBuf};

use frontend::rewrite::{cargo_binaries, RewriteOptions};

/// The build context: the directory given as PATH, else the Dockerfile's directory.
pub fn context_dir(path: &Option<PathBuf>, dockerfile: &Path) -> PathBuf {
    match path {
        Some(p) if p.is_dir() => p.clone(),
        _ => match dockerfile.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        },
    }
}

/// The rewrite options for a build context.
pub fn options(context: &Path, restructure: bool) -> RewriteOptions {
    let manifest = std::fs::read_to_string(context.join("Cargo.toml")).ok();
    let cargo_bins = manifest.and_then(|m| {
        let mut files = Vec::new();
        if context.join("src/main.rs").is_file() {
            files.push("src/main.rs".to_string());
        }
        if let Ok(entries) = std::fs::read_dir(context.join("src/bin")) {
            let mut names: Vec<String> = entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".rs"))
                .map(|n| format!("src/bin/{n}"))
                .collect();
            names.sort();
            files.extend(names);
        }
        cargo_binaries(&m, &files)
    });
    let makefile = ["GNUmakefile", "makefile", "Makefile"]
        .iter()
        .find_map(|n| std::fs::read_to_string(context.join(n)).ok());
    RewriteOptions {
        restructure,
        cargo_bins,
        makefile,
    }
}
