//! SNOMED CT in process (issue 31's scale figures), on an RF2 release folder:
//!
//!   cargo run --release --example sct_bench -- RF2_DIR [EXPRESSIONS]
//!
//! Prints the time to read the release and build its edition, then ECL evaluation latency
//! (p50, p99, max) over EXPRESSIONS (default 400) expressions of every kind, generated from the
//! edition itself (seeded, so every run evaluates the same ones): hierarchy operators,
//! refinements (grouped, cardinality, reverse, concrete), compound, member-of, dotted,
//! description filters, history. Each is timed twice: the count (`evaluate`) and the full list
//! (`evaluate` then every SCTID written out). Also `matches` of one concept against each.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nosterm::load::{load_editions, LoadOptions};
use nosterm::snomed::ecl::{evaluate, matches, parse, Budget};
use nosterm::snomed::graph::{ids, Cid, Graph, Target};
use nosterm::snomed::Edition;

/// A small deterministic generator (xorshift), so that runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.below(items.len())]
}

/// Expressions of every kind, from concepts that have what the kind needs.
fn expressions(e: &Edition, n: usize) -> Vec<(String, String)> {
    let g: &dyn Graph = e;
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let active: Vec<Cid> = e.all().filter(|&c| g.is_active(c)).collect();
    let parents: Vec<Cid> = active
        .iter()
        .copied()
        .filter(|&c| g.children(c).len() >= 3)
        .collect();
    let refined: Vec<Cid> = active
        .iter()
        .copied()
        .filter(|&c| {
            g.relationships(c)
                .iter()
                .any(|r| matches!(r.target, Target::Concept(_)))
        })
        .collect();
    let concrete: Vec<Cid> = active
        .iter()
        .copied()
        .filter(|&c| {
            g.relationships(c)
                .iter()
                .any(|r| matches!(r.target, Target::Concrete(_)))
        })
        .collect();
    let refsets: Vec<Cid> = g.refsets().to_vec();
    let id = |c: Cid| g.sctid(c);
    let ancestor_of = |rng: &mut Rng, c: Cid| {
        let mut x = c;
        for _ in 0..1 + rng.below(4) {
            match g.parents(x).first() {
                Some(&p) => x = p,
                None => break,
            }
        }
        x
    };
    let word_of = |c: Cid| {
        g.descriptions(c)
            .iter()
            .find(|d| d.active && d.type_id == ids::SYNONYM)
            .and_then(|d| d.term.split_whitespace().find(|w| w.len() > 4))
            .map(|w| w.chars().take(5).collect::<String>())
    };
    let mut out = Vec::new();
    let mut k = 0usize;
    while out.len() < n && !parents.is_empty() && !refined.is_empty() {
        k += 1;
        let p = pick(&mut rng, &parents);
        let r = pick(&mut rng, &refined);
        let rels: Vec<(Cid, Cid)> = g
            .relationships(r)
            .iter()
            .filter_map(|x| match x.target {
                Target::Concept(v) => Some((x.type_id, v)),
                Target::Concrete(_) => None,
            })
            .collect();
        let (attr, value) = pick(&mut rng, &rels);
        let focus = ancestor_of(&mut rng, r);
        let (kind, text) = match k % 16 {
            0 => ("descendants", format!("< {}", id(p))),
            1 => ("descendants-or-self", format!("<< {}", id(p))),
            2 => ("children", format!("<! {}", id(p))),
            3 => ("ancestors", format!("> {}", id(r))),
            4 => (
                "refinement",
                format!(
                    "<< {} : {} = << {}",
                    id(focus),
                    id(attr),
                    id(ancestor_of(&mut rng, value))
                ),
            ),
            5 => (
                "group",
                format!("<< {} : {{ {} = << {} }}", id(focus), id(attr), id(value)),
            ),
            6 => (
                "cardinality",
                format!("<< {} : [1..1] {} = *", id(focus), id(attr)),
            ),
            7 => (
                "zero-cardinality",
                format!("<< {} : [0..0] {} = *", id(p), id(attr)),
            ),
            8 => ("reverse", format!("* : R {} = {}", id(attr), id(r))),
            9 => ("and", format!("<< {} AND << {}", id(focus), id(p))),
            10 => ("or", format!("<< {} OR << {}", id(p), id(focus))),
            11 => ("minus", format!("<< {} MINUS << {}", id(focus), id(r))),
            12 => ("dotted", format!("<< {} . {}", id(focus), id(attr))),
            13 => match word_of(p) {
                Some(w) => (
                    "description-filter",
                    format!(
                        "<< {} {{{{ D term = \"{w}\" }}}}",
                        id(ancestor_of(&mut rng, p))
                    ),
                ),
                None => continue,
            },
            14 if !refsets.is_empty() => {
                ("member-of", format!("^ {}", id(pick(&mut rng, &refsets))))
            }
            15 if !concrete.is_empty() => {
                let c = pick(&mut rng, &concrete);
                let Some(rel) = g
                    .relationships(c)
                    .iter()
                    .find(|x| matches!(x.target, Target::Concrete(_)))
                else {
                    continue;
                };
                (
                    "concrete",
                    format!(
                        "<< {} : {} >= #0",
                        id(ancestor_of(&mut rng, c)),
                        id(rel.type_id)
                    ),
                )
            }
            _ => ("history", format!("<< {} {{{{ +HISTORY-MIN }}}}", id(p))),
        };
        out.push((kind.to_string(), text));
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: sct_bench RF2_DIR [EXPRESSIONS]"));
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(400);
    let started = Instant::now();
    let mut editions = load_editions(&dir, &LoadOptions::default()).unwrap_or_else(|es| {
        for e in es.iter().take(10) {
            eprintln!("{e}");
        }
        std::process::exit(1)
    });
    let load = started.elapsed();
    let e = editions.remove(0);
    println!(
        "edition {} ({} concepts): read and built in {:.1} s",
        e.uri(),
        e.concept_count(),
        load.as_secs_f64()
    );
    let list = expressions(&e, n);
    let mut counts = Vec::new();
    let mut lists = Vec::new();
    let mut single = Vec::new();
    let mut by_kind: std::collections::BTreeMap<String, Vec<Duration>> = Default::default();
    let mut sizes = Vec::new();
    for (kind, text) in &list {
        let expr = match parse(text) {
            Ok(x) => x,
            Err(err) => {
                eprintln!("{text}: {err}");
                continue;
            }
        };
        let t = Instant::now();
        let Ok(set) = evaluate(e.as_ref(), &expr, &mut Budget::unlimited()) else {
            eprintln!("{text}: evaluation failed");
            continue;
        };
        let n = set.len();
        let count = t.elapsed();
        let t = Instant::now();
        let set = evaluate(e.as_ref(), &expr, &mut Budget::unlimited()).expect("evaluates");
        let ids: Vec<String> = set.iter().map(|c| e.sctid(c).to_string()).collect();
        let full = t.elapsed();
        assert_eq!(ids.len(), n);
        let probe = set.iter().next().unwrap_or(0);
        let t = Instant::now();
        let _ = matches(e.as_ref(), &expr, probe, &mut Budget::unlimited());
        single.push(t.elapsed());
        counts.push(count);
        lists.push(full);
        sizes.push(n);
        by_kind.entry(kind.clone()).or_default().push(count);
    }
    counts.sort();
    lists.sort();
    single.sort();
    sizes.sort();
    println!(
        "ECL over {} expressions (result sizes: median {}, max {})",
        counts.len(),
        sizes.get(sizes.len() / 2).copied().unwrap_or(0),
        sizes.last().copied().unwrap_or(0)
    );
    println!("| measure | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|");
    for (name, v) in [
        ("count", &counts),
        ("full list", &lists),
        ("matches (one concept)", &single),
    ] {
        println!(
            "| {name} | {} | {} | {} |",
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.99)),
            ms(*v.last().unwrap_or(&Duration::ZERO))
        );
    }
    println!("| kind | n | p50 ms (count) | max ms |");
    println!("|---|---:|---:|---:|");
    for (kind, mut v) in by_kind {
        v.sort();
        println!(
            "| {kind} | {} | {} | {} |",
            v.len(),
            ms(percentile(&v, 0.5)),
            ms(*v.last().unwrap_or(&Duration::ZERO))
        );
    }
}
