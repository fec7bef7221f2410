//! ccmulti's integration tests (`it/`) and benches (`../benches/`) live in
//! this package so that `ccmulti` needs no dev-dependency on the test kit,
//! which depends on `ccmulti`. The library itself is empty.
#![forbid(unsafe_code)]
