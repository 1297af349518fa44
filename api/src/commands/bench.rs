//! `firefly bench`: performance figures printed for the README, measured on this machine.
//!
//! `bench import` times police.uk parsing and storing against sqlite3's own `.import` of the
//! same files, and on 1M generated rows; it also measures the memory that 1M incidents take
//! in the planner's compact in-memory form.

use super::{Failure, thousands};
use crate::config::Config;
use crate::storage::{ImportMeta, Store};
use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use planner::import::police_uk;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Import throughput (police.uk and 1M generated rows) and memory of 1M incidents.
    Import(BenchImportArgs),
}

#[derive(Args)]
pub struct BenchImportArgs {
    /// Generated rows for the large run.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: usize,
    /// The repository's data folder.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

pub fn run(_config: &Config, cmd: BenchCommand) -> Result<(), Failure> {
    match cmd {
        BenchCommand::Import(args) => bench_import(args).map_err(Failure::Other),
    }
}

/// Resident memory of this process in bytes (Linux), for before/after deltas.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

struct Timing {
    rows: u64,
    parse_s: f64,
    store_s: f64,
}

fn import_files(files: &[(String, Vec<u8>)], db: &Path) -> anyhow::Result<Timing> {
    let t = Instant::now();
    let mut records = Vec::new();
    let mut rows = 0;
    for (name, bytes) in files {
        let r = police_uk::read(name, &bytes[..]);
        if let Some(e) = r.errors.first() {
            return Err(anyhow!("benchmark input is invalid: {e}"));
        }
        rows += r.rows;
        records.extend(r.records);
    }
    let parse_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut store = Store::open(db)?;
    let meta = ImportMeta {
        files: files.iter().map(|f| f.0.clone()).collect(),
        format: "police-uk".into(),
        actor: "bench".into(),
        skipped: 0,
        rejected: 0,
        rows_read: rows,
    };
    store.import_incidents(&records, &meta, |_| {})?;
    Ok(Timing {
        rows,
        parse_s,
        store_s: t.elapsed().as_secs_f64(),
    })
}

/// Times `sqlite3 DB ".import --csv FILE tN"` for every file in one process.
fn sqlite3_import(paths: &[PathBuf], db: &Path) -> Option<f64> {
    let mut script = String::from(".bail on\nPRAGMA journal_mode=WAL;\nBEGIN;\n");
    for (n, p) in paths.iter().enumerate() {
        script.push_str(&format!(".import --csv '{}' t{n}\n", p.display()));
    }
    script.push_str("COMMIT;\n");
    let t = Instant::now();
    let out = Command::new("sqlite3")
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            if let Some(stdin) = child.stdin.as_mut() {
                stdin.write_all(script.as_bytes())?;
            }
            child.wait_with_output()
        })
        .ok()?;
    out.status.success().then(|| t.elapsed().as_secs_f64())
}

fn print_comparison(label: &str, ours: &Timing, sqlite: Option<f64>) {
    let total = ours.parse_s + ours.store_s;
    println!(
        "{label}: {} rows, parse+validate {:.3} s, store {:.3} s, total {:.3} s = {} rows/s",
        thousands(ours.rows),
        ours.parse_s,
        ours.store_s,
        total,
        thousands((ours.rows as f64 / total) as u64)
    );
    match sqlite {
        Some(s) => println!(
            "  sqlite3 .import of the same file(s): {s:.3} s = {} rows/s; firefly runs at {:.0} % of sqlite3's speed (target: at least 50 %)",
            thousands((ours.rows as f64 / s) as u64),
            100.0 * s / total
        ),
        None => println!(
            "  sqlite3 not found on PATH: install it (apt-get install sqlite3) for the comparison"
        ),
    }
}

/// A police.uk-shaped file: 80 % crimes with ids, 20 % ASB rows without, some identical.
pub fn generate_police_uk(rows: usize, seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = String::with_capacity(rows * 200);
    s.push_str(&police_uk::HEADER.join(","));
    s.push('\n');
    let types = [
        "Violence and sexual offences",
        "Public order",
        "Shoplifting",
        "Vehicle crime",
        "Burglary",
    ];
    for n in 0..rows {
        let asb = rng.random_range(0..5) == 0;
        let id = if asb {
            String::new()
        } else {
            format!("{:064x}", n as u128 * 2_654_435_761)
        };
        // ~5,000 snap points, as police.uk anonymises locations to street points.
        let snap = rng.random_range(0..5_000u32);
        let lon = -0.70 + (snap % 100) as f64 * 0.0055;
        let lat = 51.80 + (snap / 100) as f64 * 0.0105;
        let kind = if asb {
            "Anti-social behaviour"
        } else {
            types[rng.random_range(0..types.len())]
        };
        let month = 1 + n % 12;
        s.push_str(&format!(
            "{id},2023-{month:02},Bedfordshire Police,Bedfordshire Police,{lon:.6},{lat:.6},On or near Street {snap},E0100{snap:04},Luton {snap:03}A,{kind},Under investigation,\n"
        ));
    }
    s
}

fn bench_import(args: BenchImportArgs) -> anyhow::Result<()> {
    let data = super::demo::data_dir(args.data)?;
    println!(
        "firefly bench import ({} cores available)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    // First, while no freed memory can be reused and hide the growth.
    memory(args.rows);
    let dir = tempfile_dir()?;
    let street = data.join("police-uk/bedfordshire/street");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&street)
        .with_context(|| format!("cannot list {}", street.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    let files: Vec<(String, Vec<u8>)> = paths
        .iter()
        .map(|p| Ok((p.display().to_string(), std::fs::read(p)?)))
        .collect::<std::io::Result<_>>()?;
    let ours = import_files(&files, &dir.join("police.db"))?;
    let sqlite = sqlite3_import(&paths, &dir.join("police-sqlite3.db"));
    print_comparison("police.uk Bedfordshire, 12 months", &ours, sqlite);

    let generated = generate_police_uk(args.rows, 42);
    let gen_path = dir.join("generated.csv");
    std::fs::write(&gen_path, &generated)?;
    let ours = import_files(
        &[("generated.csv".into(), generated.into_bytes())],
        &dir.join("gen.db"),
    )?;
    let sqlite = sqlite3_import(&[gen_path], &dir.join("gen-sqlite3.db"));
    print_comparison(
        &format!("generated police.uk, {} rows", thousands(args.rows as u64)),
        &ours,
        sqlite,
    );

    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// Memory held by `n` incidents in the planner's in-memory forms, measured as the growth of
/// resident memory: the scoring points (projected point, time, category) and, separately,
/// the R-tree over them used for radius and nearest-venue queries.
fn memory(n: usize) {
    use planner::hotspots::ScoringPoint;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mb = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.1} MB", b.saturating_sub(a) as f64 / 1e6),
        _ => "unknown (no /proc)".into(),
    };
    let start = resident_bytes();
    let points: Vec<ScoringPoint> = (0..n)
        .map(|i| ScoringPoint {
            x: rng.random_range(500_000.0..540_000.0),
            y: rng.random_range(200_000.0..240_000.0),
            category: planner::Category::ALL[i % planner::Category::ALL.len()],
            occurred: planner::OccurredAt::Exact(
                jiff::Timestamp::from_second(1_700_000_000 + i as i64).unwrap_or_default(),
            ),
        })
        .collect();
    let with_points = resident_bytes();
    let index = planner::index::PointIndex::new(
        points.iter().enumerate().map(|(i, p)| (p.x, p.y, i as u32)),
    );
    let with_index = resident_bytes();
    println!(
        "memory, {} incidents: scoring points {} ({} bytes each), R-tree {} more, together {} (target: under 100 MB)",
        thousands(points.len() as u64),
        mb(start, with_points),
        std::mem::size_of::<ScoringPoint>(),
        mb(with_points, with_index),
        mb(start, with_index),
    );
    std::hint::black_box((&points, &index));
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("firefly-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
