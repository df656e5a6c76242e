//! BuildKit word expansion (in progress).
