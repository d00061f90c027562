//! Empty: this package exists for its `examples/` directory.
