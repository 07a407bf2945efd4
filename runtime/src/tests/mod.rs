//! In-crate tests, including the loom models (run with `RUSTFLAGS="--cfg loom"`).
