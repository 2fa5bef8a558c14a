//! Command line: `nosterm serve` and `nosterm check`.

use std::process::ExitCode;

use actix_web::web;
use clap::Parser;
use nosterm::config::{AppConfig, CheckConfig, Cli, Command, IndexConfig, ServeConfig};
use nosterm::error::Error;
use nosterm::load::{load_dir, LoadError};
use nosterm::reload::{reload, SaveSnapshot};
use nosterm::state::AppState;

/// mimalloc rather than glibc malloc: see Cargo.toml (memory of old releases given back).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn print_errors(errors: &[LoadError]) {
    for e in errors {
        eprintln!("{e}");
    }
    eprintln!("{} error(s); nothing loaded", errors.len());
}

fn check(cfg: &CheckConfig) -> ExitCode {
    match load_dir(&cfg.data) {
        Ok(data) => {
            for w in &data.warnings {
                eprintln!("warning: {w}");
            }
            let members: usize = data.value_sets.iter().map(|v| v.enumerated_len()).sum();
            let mappings: usize = data
                .concept_maps
                .iter()
                .flat_map(|m| &m.groups)
                .flat_map(|g| &g.elements)
                .map(|e| e.targets.len())
                .sum();
            println!(
                "ok: {} tables ({} code systems, {} value sets, {} concept maps), {} concepts, {} value-set members, {} mappings",
                data.code_systems.len() + data.value_sets.len() + data.concept_maps.len(),
                data.code_systems.len(),
                data.value_sets.len(),
                data.concept_maps.len(),
                data.concept_count(),
                members,
                mappings
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            print_errors(&errors);
            ExitCode::FAILURE
        }
    }
}

fn index(cfg: &IndexConfig) -> ExitCode {
    let state = AppState::empty(AppConfig {
        data: Some(cfg.data.clone()),
        index: Some(cfg.index.clone()),
        fhir_core: !cfg.no_fhir_core,
        sct_unpublished: cfg.sct_unpublished.clone(),
        ..AppConfig::default()
    });
    match reload(&state, None, SaveSnapshot::BeforeReturning) {
        Ok(r) => {
            println!(
                "indexed {}: {} tables, {} concepts, {} search entries in {}",
                r.status.source,
                r.status.tables,
                r.status.concepts,
                r.status.search_entries,
                cfg.index.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            report_failure(&e);
            ExitCode::FAILURE
        }
    }
}

fn serve(cfg: ServeConfig) -> ExitCode {
    // The port opens at once (`/health/live` answers, `/fhir` says 503); the data is loaded
    // by the same code as a reload, and `listening on` is printed once it is served.
    let state = web::Data::new(AppState::empty(AppConfig::from(&cfg)));
    let workers = cfg.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let result = actix_web::rt::System::new().block_on(async move {
        let app_state = state.clone();
        let (running, addrs) =
            nosterm::http::server::bind(app_state, &cfg.addr, workers, &cfg.net)?;
        let handle = running.handle();
        let first = state.clone();
        match web::block(move || reload(&first, None, SaveSnapshot::InBackground)).await {
            Ok(Ok(report)) => tracing::info!(
                "loaded {}: {} tables, {} concepts in {} ms, index {} ms",
                report.status.source,
                report.status.tables,
                report.status.concepts,
                report.status.load_ms,
                report.status.index_ms
            ),
            Ok(Err(e)) => {
                report_failure(&e);
                // The stop command is sent at once; `running` resolves when it is done.
                drop(handle.stop(false));
                return running.await.map(|()| false);
            }
            Err(e) => {
                eprintln!("first load failed: {e}");
                // The stop command is sent at once; `running` resolves when it is done.
                drop(handle.stop(false));
                return running.await.map(|()| false);
            }
        }
        actix_web::rt::spawn(reload_on_sighup(state.clone()));
        for a in addrs {
            println!("listening on http://{a}/fhir");
        }
        running.await.map(|()| true)
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn report_failure(e: &Error) {
    match e {
        Error::ReleaseRefused(errors) => print_errors(errors),
        other => eprintln!("{other}"),
    }
}

/// SIGHUP reloads the configured data folder, as `POST /admin/reload` does.
async fn reload_on_sighup(state: web::Data<AppState>) {
    use actix_web::rt::signal::unix::{signal, SignalKind};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot listen for SIGHUP: {e}");
            return;
        }
    };
    while hangups.recv().await.is_some() {
        let st = state.clone();
        match web::block(move || reload(&st, None, SaveSnapshot::InBackground)).await {
            Ok(Ok(r)) => eprintln!(
                "SIGHUP: reloaded generation {} from {} ({} tables, {} concepts, {} ms)",
                r.status.generation,
                r.status.source,
                r.status.tables,
                r.status.concepts,
                r.status.load_ms + r.status.index_ms
            ),
            Ok(Err(e)) => {
                eprintln!("SIGHUP: reload refused; the previous data is still served");
                report_failure(&e);
            }
            Err(e) => eprintln!("SIGHUP: reload failed: {e}"),
        }
    }
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NOSTERM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // NOSTERM_LOG_FORMAT=json: one JSON object per line, with the request span's fields
    // (request_id, method, path, operation).
    if std::env::var("NOSTERM_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().with_current_span(true).init();
    } else {
        logs.init();
    }
    nosterm::probe::stage("start");
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(cfg) => serve(cfg),
        Command::Check(cfg) => check(&cfg),
        Command::Index(cfg) => index(&cfg),
    }
}
