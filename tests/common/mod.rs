//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::PathBuf;

use actix_web::web;
use nosterm::config::AppConfig;
use nosterm::state::AppState;

/// The shipped `data/` folder.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// A server state over the shipped data (the test fails if it does not load).
pub fn shipped_state() -> web::Data<AppState> {
    match AppState::load(&data_dir(), AppConfig::default()) {
        Ok(s) => web::Data::new(s),
        Err(errors) => panic!("shipped data must load: {errors:?}"),
    }
}

/// Percent-encodes a query-string value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
