//! Command line: `nosterm serve` and `nosterm check`.

use std::process::ExitCode;
use std::sync::Arc;

use actix_web::{web, HttpServer};
use clap::Parser;
use nosterm::catalog::Catalog;
use nosterm::config::{AppConfig, CheckConfig, Cli, Command, ServeConfig};
use nosterm::load::{load_dir, LoadError};
use nosterm::search::SearchIndex;
use nosterm::state::AppState;

fn print_errors(errors: &[LoadError]) {
    for e in errors {
        eprintln!("{e}");
    }
    eprintln!("{} error(s); nothing loaded", errors.len());
}

fn check(cfg: &CheckConfig) -> ExitCode {
    match load_dir(&cfg.data) {
        Ok(data) => {
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

fn serve(cfg: ServeConfig) -> ExitCode {
    let catalog = match load_dir(&cfg.data) {
        Ok(data) => Catalog::from_dataset(data),
        Err(errors) => {
            print_errors(&errors);
            return ExitCode::FAILURE;
        }
    };
    // Reuse the index in --index when it was built from the same data; rebuild it otherwise.
    let search = match SearchIndex::open_or_build(&cfg.index, &catalog) {
        Ok((index, provenance)) => {
            tracing::info!(
                "search index {provenance:?} in {}: {} entries, fingerprint {:016x}",
                cfg.index.display(),
                index.len(),
                index.fingerprint()
            );
            Arc::new(index)
        }
        Err(e) => {
            eprintln!(
                "cannot open or build the search index in {}: {e}",
                cfg.index.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let state = web::Data::new(AppState::with_search(
        catalog,
        Some(search),
        AppConfig::from(&cfg),
    ));
    let workers = cfg.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let result = actix_web::rt::System::new().block_on(async move {
        let app_state = state.clone();
        let server = HttpServer::new(move || nosterm::create_app(app_state.clone()))
            .workers(workers)
            .backlog(4096)
            .bind(&cfg.addr)?;
        let addrs = server.addrs();
        let running = server.run();
        for a in addrs {
            println!("listening on http://{a}/fhir");
        }
        running.await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NOSTERM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(cfg) => serve(cfg),
        Command::Check(cfg) => check(&cfg),
    }
}
