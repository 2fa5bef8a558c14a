//! Every setting, from command-line flags and environment variables.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "nosterm",
    version,
    about = "FHIR R4 terminology server for the French NOS"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load the data and serve the FHIR API under /fhir.
    Serve(ServeConfig),
    /// Load and check the data without serving; exit 1 listing every error.
    Check(CheckConfig),
}

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "NOSTERM_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Folder of NOS files (CSV layout, .tabs, FHIR JSON), read recursively.
    #[arg(long, env = "NOSTERM_DATA", default_value = "data")]
    pub data: PathBuf,
    /// Folder of the full-text index (built when missing or stale).
    #[arg(long, env = "NOSTERM_INDEX", default_value = "index")]
    pub index: PathBuf,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "NOSTERM_WORKERS")]
    pub workers: Option<usize>,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "NOSTERM_MAX_BODY", default_value_t = 16 * 1024 * 1024)]
    pub max_body: usize,
    /// Largest expansion returned without paging (`too-costly` beyond).
    #[arg(long, env = "NOSTERM_MAX_EXPANSION", default_value_t = 10_000)]
    pub max_expansion: usize,
}

#[derive(Debug, Clone, Args)]
pub struct CheckConfig {
    /// Folder of NOS files to check.
    #[arg(long, env = "NOSTERM_DATA", default_value = "data")]
    pub data: PathBuf,
}

/// Settings the HTTP app needs (a subset of `ServeConfig`, also built by tests).
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub max_body: usize,
    pub max_expansion: usize,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            max_body: 16 * 1024 * 1024,
            max_expansion: 10_000,
        }
    }
}

impl From<&ServeConfig> for AppConfig {
    fn from(c: &ServeConfig) -> Self {
        AppConfig {
            max_body: c.max_body,
            max_expansion: c.max_expansion,
        }
    }
}
