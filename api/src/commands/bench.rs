//! `firefly bench`: performance figures printed for the README, measured on this machine.
//!
//! `bench import` times police.uk parsing and storing against sqlite3's own `.import` of the
//! same files, and on 1M generated rows; it also measures the memory that 1M incidents take
//! in the planner's compact in-memory form.
//!
//! `bench scoring` times the planner's scoring of 1M incidents alone; `bench scoring
//! --national` ([`national`]) takes a national year of incidents through the whole path:
//! import, `firefly hotspots` over Great Britain, and a viewport from a real server.

mod national;

use super::thousands;
use crate::app::Failure;
use crate::config::Config;
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
    /// KDE, Gi* and prospective scoring of 1M incidents on a 50 m grid over 40 x 40 km; with
    /// `--national`, 6M incidents over Great Britain through import, hotspots and the server.
    Scoring(BenchScoringArgs),
}

#[derive(Args)]
pub struct BenchScoringArgs {
    /// Incidents to generate (default 1,000,000; with --national 6,000,000).
    #[arg(long)]
    pub incidents: Option<usize>,
    /// Timed runs per method (the median is reported; not with --national).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// A year of England and Wales's police.uk street crime, generated around Great
    /// Britain's pubs: imported into a fresh database, scored at 100 m over the data's own
    /// study area (KDE, Gi*), and a central London viewport asked of `firefly serve`.
    #[arg(long)]
    pub national: bool,
    /// Seed of the generated national data set.
    #[arg(long, default_value_t = 2023, requires = "national")]
    pub seed: u64,
    /// Keep the national database at PATH (a new file) instead of a temporary one.
    #[arg(long, value_name = "PATH", requires = "national")]
    pub keep_db: Option<PathBuf>,
    /// The repository's data folder (for the pubs).
    #[arg(long, requires = "national")]
    pub data: Option<PathBuf>,
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

pub fn run(config: &Config, cmd: BenchCommand) -> Result<(), Failure> {
    match cmd {
        BenchCommand::Import(args) => bench_import(config, args).map_err(Failure::Other),
        BenchCommand::Scoring(args) if args.national => national::run(
            config,
            national::NationalArgs {
                incidents: args.incidents.unwrap_or(6_000_000),
                seed: args.seed,
                keep_db: args.keep_db,
                data: args.data,
            },
        )
        .map_err(Failure::Other),
        BenchCommand::Scoring(args) => bench_scoring(args).map_err(Failure::Other),
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
    total_s: f64,
}

/// Runs the real `firefly import incidents` path (read, validate and store on two threads)
/// into a fresh database and times it.
fn import_files(paths: &[PathBuf], db: &Path, config: &Config) -> anyhow::Result<Timing> {
    let mut config = config.clone();
    config.db = db.into();
    let t = Instant::now();
    let stored = super::import::incidents(
        &config,
        paths,
        crate::app::import::IncidentFormat::PoliceUk,
        false,
    )
    .map_err(|e| match e {
        Failure::Invalid(e) | Failure::Other(e) => e,
    })?;
    let total = t.elapsed().as_secs_f64();
    let conn = rusqlite::Connection::open(db)?;
    let rows: i64 = conn.query_row(
        "SELECT rows_read FROM imports WHERE id = ?1",
        [stored.import_id],
        |r| r.get(0),
    )?;
    Ok(Timing {
        rows: rows as u64,
        total_s: total,
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
    let total = ours.total_s;
    println!(
        "{label}: {} rows read, validated and stored in {:.3} s = {} rows/s",
        thousands(ours.rows),
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

fn bench_import(config: &Config, args: BenchImportArgs) -> anyhow::Result<()> {
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
    let ours = import_files(&paths, &dir.join("police.db"), config)?;
    let sqlite = sqlite3_import(&paths, &dir.join("police-sqlite3.db"));
    print_comparison("police.uk Bedfordshire, 12 months", &ours, sqlite);

    let generated = generate_police_uk(args.rows, 42);
    let gen_path = dir.join("generated.csv");
    std::fs::write(&gen_path, &generated)?;
    drop(generated);
    let ours = import_files(std::slice::from_ref(&gen_path), &dir.join("gen.db"), config)?;
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

/// Peak resident memory of this process so far (Linux `VmHWM`), in bytes.
fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn bench_scoring(args: BenchScoringArgs) -> anyhow::Result<()> {
    use planner::hotspots::grid::Grid;
    use planner::hotspots::{Method, ScoringParams, ScoringPoint};
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (x0, y0) = (500_000.0, 200_000.0);
    let centres: Vec<(f64, f64)> = (0..40)
        .map(|_| {
            (
                x0 + rng.random_range(2_000.0..38_000.0),
                y0 + rng.random_range(2_000.0..38_000.0),
            )
        })
        .collect();
    let as_of = jiff::Timestamp::from_second(1_735_689_600)?; // 2025-01-01
    let points: Vec<ScoringPoint> = (0..args.incidents.unwrap_or(1_000_000))
        .map(|i| {
            // 60 % around 40 town centres (within ~400 m), 40 % anywhere; times over a year.
            let (x, y) = if i % 5 < 3 {
                let (cx, cy) = centres[i % centres.len()];
                (
                    cx + rng.random_range(-400.0..400.0),
                    cy + rng.random_range(-400.0..400.0),
                )
            } else {
                (
                    x0 + rng.random_range(0.0..40_000.0),
                    y0 + rng.random_range(0.0..40_000.0),
                )
            };
            let t = as_of.as_second() - rng.random_range(0..365 * 86_400);
            ScoringPoint {
                x,
                y,
                category: planner::Category::ViolenceAndSexual,
                occurred: planner::OccurredAt::Exact(
                    jiff::Timestamp::from_second(t).unwrap_or(as_of),
                ),
            }
        })
        .collect();
    let grid = Grid::from_bbox(50.0, x0, y0, x0 + 40_000.0 - 1.0, y0 + 40_000.0 - 1.0)?;
    let params = ScoringParams::new(as_of, planner::time::london());
    println!(
        "firefly bench scoring: {} incidents, {} cells of 50 m over 40 x 40 km, {} cores",
        thousands(points.len() as u64),
        thousands(grid.len() as u64),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    for method in [
        Method::Count,
        Method::Kde,
        Method::GiStar,
        Method::Prospective,
    ] {
        let mut times = Vec::new();
        let mut cells = 0;
        for _ in 0..args.runs.max(1) {
            let t = Instant::now();
            let scored = planner::hotspots::score(method, &grid, &points, &params)
                .map_err(|e| anyhow!("{e}"))?;
            times.push(t.elapsed().as_secs_f64());
            cells = scored.cells.len();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  {:<12} median {:>7.0} ms (min {:.0}, max {:.0}) end to end: weigh, score, rank, list {} cells",
            method.as_str(),
            times[times.len() / 2] * 1e3,
            times[0] * 1e3,
            times[times.len() - 1] * 1e3,
            thousands(cells as u64)
        );
    }
    if let Some(peak) = peak_resident_bytes() {
        println!(
            "  peak resident memory of the whole run: {:.0} MB (target under 500 MB)",
            peak as f64 / 1e6
        );
    }
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("firefly-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
