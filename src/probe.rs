//! Memory and time probes of the load stages, for sizing large tables: with
//! `NOSTERM_MEMPROBE=1`, each stage prints `probe <stage>: VmHWM … VmRSS … t=…` to stderr.
//! Off by default: one environment check per stage.

use std::sync::OnceLock;
use std::time::Instant;

fn start() -> &'static Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now)
}

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("NOSTERM_MEMPROBE").is_some_and(|v| v != "0"))
}

/// `(VmHWM, VmRSS)` of this process in kB, from `/proc/self/status` (Linux only).
pub fn memory_kb() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// Reports the memory high-water mark and resident set after `stage`, when enabled.
pub fn stage(stage: &str) {
    if !enabled() {
        return;
    }
    let t = start().elapsed().as_secs_f64();
    match memory_kb() {
        Some((hwm, rss)) => eprintln!(
            "probe {stage}: VmHWM {} MB VmRSS {} MB t={t:.2}s",
            hwm / 1024,
            rss / 1024
        ),
        None => eprintln!("probe {stage}: t={t:.2}s"),
    }
}
