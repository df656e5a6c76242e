//! # builder: the daemonless multi-platform image builder
//!
//! Not built yet. This crate will hold, one module per job: the registry client, the
//! content store, snapshots, the RUN executor, layers, images, the scheduler and export.
//! It depends on [`frontend`] for the build graph and on [`crossbuild`] for platforms.

/// The name this crate reports in diagnostics.
pub const NAME: &str = "crossdock-builder";
