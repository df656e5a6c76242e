//! Shell splitting of RUN scripts (in progress).
