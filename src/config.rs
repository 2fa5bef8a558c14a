//! Every setting, from command-line flags and environment variables.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
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
    /// Load the data and write the search index and the catalog snapshot that `serve
    /// --index` reuses, then exit (e.g. while building a release image).
    Index(IndexConfig),
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
    /// Largest expansion returned without paging (`too-costly` beyond). A request's
    /// `X-TOO-COSTLY-THRESHOLD` header can lower it, never raise it.
    #[arg(long, env = "NOSTERM_MAX_EXPANSION", default_value_t = 10_000)]
    pub max_expansion: usize,
    #[command(flatten)]
    pub limits: Limits,
    #[command(flatten)]
    pub net: NetLimits,
    /// Enables `/admin/reload` and `/admin/status`, callable with `Authorization: Bearer
    /// <token>`. Off when unset. Prefer the environment variable (a flag shows in `ps`).
    #[arg(long, env = "NOSTERM_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,
    /// Display problems in `$validate-code` are warnings (result stays true) unless a request
    /// says `lenient-display-validation=false`. Off by default (FHIR: a wrong display is an
    /// error).
    #[arg(long, env = "NOSTERM_LENIENT_DISPLAY")]
    pub lenient_display: bool,
    /// Serve the data folder alone, without the built-in FHIR R4 core terminology (FHIR's
    /// own code systems and value sets, the v2 and v3 tables of the R4 spec) under it.
    #[arg(long, env = "NOSTERM_NO_FHIR_CORE", value_parser = BoolishValueParser::new())]
    pub no_fhir_core: bool,
    /// SNOMED CT modules (SCTIDs, comma-separated) whose RF2 releases in the data folder are
    /// unpublished (a test subset, a release candidate): their editions are named
    /// `http://snomed.info/xsct/{module}/version/{date}` rather than `…/sct/…`.
    #[arg(long, env = "NOSTERM_SCT_UNPUBLISHED", value_delimiter = ',')]
    pub sct_unpublished: Vec<u64>,
    /// Bytes of rendered `$validate-code`/`$lookup`/`$subsumes` answers and `$expand` pages kept
    /// per snapshot, so that a question asked again is answered without being worked out
    /// again; 0 turns it off.
    #[arg(long, env = "NOSTERM_ANSWER_CACHE_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub answer_cache_bytes: u64,
}

/// Per-request limits enforced by the app (each refusal is an OperationOutcome).
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Most parameters in one request (query, form and `Parameters` body together, nested
    /// `part`s included); `too-costly` beyond.
    #[arg(long, env = "NOSTERM_MAX_PARAMS", default_value_t = 1_000)]
    pub max_params: usize,
    /// Most `tx-resource` parameters in one request; `too-costly` beyond.
    #[arg(long, env = "NOSTERM_MAX_TX_RESOURCES", default_value_t = 200)]
    pub max_tx_resources: usize,
    /// Largest single `tx-resource` (or inline `valueSet`), in bytes of compact JSON;
    /// `too-costly` beyond.
    #[arg(long, env = "NOSTERM_MAX_TX_RESOURCE_SIZE", default_value_t = 4 * 1024 * 1024)]
    pub max_tx_resource_size: usize,
    /// Longest `$expand` `filter`, in characters; `too-costly` beyond.
    #[arg(long, env = "NOSTERM_MAX_FILTER", default_value_t = 256)]
    pub max_filter: usize,
    /// Most steps (concepts visited, reference set members read) one SNOMED CT ECL
    /// evaluation may take: 422 `too-costly` beyond. The request timeout bounds it too.
    #[arg(long, env = "NOSTERM_MAX_ECL_STEPS", default_value_t = 50_000_000)]
    pub max_ecl_steps: u64,
    /// Time budget of one operation (`$expand`, `$validate-code`, …) in milliseconds, body
    /// reading excluded: 503 `too-costly` beyond. The work runs off the HTTP workers.
    #[arg(long, env = "NOSTERM_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// Time allowed to receive a request body, in milliseconds: 408 beyond.
    #[arg(long, env = "NOSTERM_BODY_TIMEOUT_MS", default_value_t = 30_000)]
    pub body_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_params: 1_000,
            max_tx_resources: 200,
            max_tx_resource_size: 4 * 1024 * 1024,
            max_filter: 256,
            max_ecl_steps: 50_000_000,
            request_timeout_ms: 30_000,
            body_timeout_ms: 30_000,
        }
    }
}

/// Connection limits of the HTTP server (`HttpServer`), outside the app.
#[derive(Debug, Clone, Args)]
pub struct NetLimits {
    /// Most concurrent connections per worker; further ones wait in the accept backlog.
    #[arg(long, env = "NOSTERM_MAX_CONNECTIONS", default_value_t = 1_024)]
    pub max_connections: usize,
    /// Time allowed to receive a request's head (line and headers), in milliseconds; a
    /// slower client gets 408 and is disconnected. Idle keep-alive connections close
    /// after the same time.
    #[arg(long, env = "NOSTERM_CLIENT_TIMEOUT_MS", default_value_t = 5_000)]
    pub client_timeout_ms: u64,
}

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits {
            max_connections: 1_024,
            client_timeout_ms: 5_000,
        }
    }
}

/// A secret setting: never printed (`Debug` shows `***`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("the admin token must not be empty".into());
        }
        Ok(Secret(s.to_string()))
    }
}

#[derive(Debug, Clone, Args)]
pub struct CheckConfig {
    /// Folder of NOS files to check.
    #[arg(long, env = "NOSTERM_DATA", default_value = "data")]
    pub data: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct IndexConfig {
    /// Folder of NOS files.
    #[arg(long, env = "NOSTERM_DATA", default_value = "data")]
    pub data: PathBuf,
    /// Folder of the search index and catalog snapshot.
    #[arg(long, env = "NOSTERM_INDEX", default_value = "index")]
    pub index: PathBuf,
    /// Index the data folder alone, without the built-in FHIR R4 core (as `serve
    /// --no-fhir-core` serves it).
    #[arg(long, env = "NOSTERM_NO_FHIR_CORE", value_parser = BoolishValueParser::new())]
    pub no_fhir_core: bool,
    /// SNOMED CT modules (SCTIDs, comma-separated) whose RF2 releases in the data folder are
    /// unpublished (a test subset, a release candidate): their editions are named
    /// `http://snomed.info/xsct/{module}/version/{date}` rather than `…/sct/…`.
    #[arg(long, env = "NOSTERM_SCT_UNPUBLISHED", value_delimiter = ',')]
    pub sct_unpublished: Vec<u64>,
}

/// Settings the HTTP app needs (a subset of `ServeConfig`, also built by tests).
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub max_body: usize,
    pub max_expansion: usize,
    /// The data folder (or symlink) re-read by a reload without a folder of its own; resolved
    /// again at each reload.
    pub data: Option<PathBuf>,
    /// Folder of the on-disk search index; `None` builds indexes in memory.
    pub index: Option<PathBuf>,
    /// Admin routes are on only when set.
    pub admin_token: Option<Secret>,
    /// Default of `lenient-display-validation`.
    pub lenient_display: bool,
    pub limits: Limits,
    /// See `ServeConfig::answer_cache_bytes`.
    pub answer_cache_bytes: u64,
    /// The built-in FHIR R4 core terminology under the data (`serve` unless
    /// `--no-fhir-core`); off by default here, so that tests see their fixtures alone.
    pub fhir_core: bool,
    /// See `ServeConfig::sct_unpublished`.
    pub sct_unpublished: Vec<u64>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            max_body: 16 * 1024 * 1024,
            max_expansion: 10_000,
            data: None,
            index: None,
            admin_token: None,
            lenient_display: false,
            limits: Limits::default(),
            answer_cache_bytes: 16 * 1024 * 1024,
            fhir_core: false,
            sct_unpublished: Vec::new(),
        }
    }
}

impl From<&ServeConfig> for AppConfig {
    fn from(c: &ServeConfig) -> Self {
        AppConfig {
            max_body: c.max_body,
            max_expansion: c.max_expansion,
            data: Some(c.data.clone()),
            index: Some(c.index.clone()),
            admin_token: c.admin_token.clone(),
            lenient_display: c.lenient_display,
            limits: c.limits.clone(),
            answer_cache_bytes: c.answer_cache_bytes,
            fhir_core: !c.no_fhir_core,
            sct_unpublished: c.sct_unpublished.clone(),
        }
    }
}
