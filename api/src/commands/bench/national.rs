//! `firefly bench scoring --national`: a year of police.uk street crime the size of England
//! and Wales's (6,000,000 rows by default, fixed seed), placed around the pubs of Great
//! Britain and along the streets between them, then taken through the real code paths: the
//! police.uk import into a fresh SQLite file, `firefly hotspots`' read, selection and
//! sparse scoring over the data's own study area (no boundary, no bbox), the streamed
//! GeoJSON, and a map viewport over central London asked of a real `firefly serve` on
//! loopback, cold and cached.
//!
//! The generated set: every incident is month-only (as police.uk publishes), spread over the
//! 12 months of 2023, in the night-time-economy categories in the proportions of
//! Bedfordshire's 12 published months. Pubs draw incidents by a heavy-tailed popularity
//! (a few town-centre pubs draw many); 80 % of the incidents lie around a pub, at a distance
//! that decays (exponential, mean 100 m: 95 % within 300 m), 19.99 % along the straight
//! line to one of the pub's nearest neighbours (within 1.5 km) with a few metres of jitter,
//! and 1 in 10,000 is scattered 15 to 80 km from any pub it was drawn for, for the study
//! area's stray filter to find.

use super::{Timing, import_files, peak_resident_bytes};
use crate::app::Failure;
use crate::app::hotspots::{self, FilterRequest, HotspotRequest, MethodParams};
use crate::app::validation;
use crate::commands::thousands;
use crate::config::Config;
use crate::storage::Store;
use anyhow::{Context, anyhow, bail};
use planner::hotspots::Method;
use planner::import::{police_uk, premises};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The pubs the incidents are placed around.
pub const PUBS: &str = "premises/pubnames_uk_osm_2022-01.tsv.gz";
/// The viewport asked of the server: about 5 x 5 km of central London around Charing Cross.
pub const LONDON_BBOX: [f64; 4] = [-0.1607, 51.4849, -0.0885, 51.5299];
/// A second viewport, asked after London's: about 5 x 5 km of central Manchester.
pub const MANCHESTER_BBOX: [f64; 4] = [-2.2800, 53.4580, -2.2050, 53.5030];
/// The cell of every figure, metres.
pub const CELL_M: f64 = 100.0;

/// Night-time-economy police.uk crime types, weighted by their counts in Bedfordshire's 12
/// published months (`data/police-uk/bedfordshire`).
const MIX: [(&str, u32); 6] = [
    ("Violence and sexual offences", 20_287),
    ("Anti-social behaviour", 10_489),
    ("Public order", 4_546),
    ("Possession of weapons", 658),
    ("Robbery", 573),
    ("Theft from the person", 541),
];

pub struct NationalArgs {
    pub incidents: usize,
    pub seed: u64,
    pub keep_db: Option<PathBuf>,
    pub data: Option<PathBuf>,
}

/// Metres per degree of latitude, and of longitude at `lat`.
fn metres_per_degree(lat: f64) -> (f64, f64) {
    (110_574.0, 111_320.0 * lat.to_radians().cos())
}

/// The pubs (lon, lat) read with the premises importer.
fn read_pubs(data: &Path) -> anyhow::Result<Vec<(f64, f64)>> {
    let path = data.join(PUBS);
    let file =
        std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let import = premises::read_osm_tsv(&path.display().to_string(), &bytes[..]);
    if !import.errors.is_empty() {
        bail!(
            "{}: {} invalid rows, e.g. {}",
            path.display(),
            import.errors.len(),
            import.errors[0]
        );
    }
    Ok(import.records.iter().map(|p| (p.lon, p.lat)).collect())
}

/// Writes the generated police.uk file; returns the incidents written around strays.
fn generate(path: &Path, pubs: &[(f64, f64)], n: usize, seed: u64) -> anyhow::Result<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Each pub's nearest neighbours within 1.5 km (local metres: good enough for "near").
    let metric = |(lon, lat): (f64, f64)| {
        let (my, mx) = metres_per_degree(lat);
        (lon * mx, lat * my)
    };
    let index = planner::index::PointIndex::new(pubs.iter().enumerate().map(|(i, &p)| {
        let (x, y) = metric(p);
        (x, y, i as u32)
    }));
    let neighbours: Vec<Vec<u32>> = pubs
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let (x, y) = metric(p);
            index
                .nearest(x, y, 5)
                .into_iter()
                .filter(|&(j, d)| j as usize != i && d <= 1_500.0)
                .map(|(j, _)| j)
                .collect()
        })
        .collect();
    // Popularity: Pareto with alpha 1.67, so a few pubs draw many incidents.
    let mut cumulative = Vec::with_capacity(pubs.len());
    let mut total = 0.0;
    for _ in pubs {
        total += (1.0 - rng.random_range(0.0..1.0f64)).powf(-0.6);
        cumulative.push(total);
    }
    let mix_total: u32 = MIX.iter().map(|m| m.1).sum();
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    writeln!(out, "{}", police_uk::HEADER.join(","))?;
    let mut strays = 0;
    for k in 0..n {
        let draw = rng.random_range(0.0..total);
        let p = cumulative
            .partition_point(|&c| c <= draw)
            .min(pubs.len() - 1);
        let (lon0, lat0) = pubs[p];
        let (my, mx) = metres_per_degree(lat0);
        let kind = rng.random_range(0..10_000u32);
        let (dx, dy) = if kind == 0 {
            strays += 1;
            let (r, a) = (
                rng.random_range(15_000.0..80_000.0f64),
                rng.random_range(0.0..std::f64::consts::TAU),
            );
            (r * a.cos(), r * a.sin())
        } else if kind < 2_000 && !neighbours[p].is_empty() {
            let q = neighbours[p][rng.random_range(0..neighbours[p].len())] as usize;
            let (lon1, lat1) = pubs[q];
            let t = rng.random_range(0.0..1.0f64);
            (
                t * (lon1 - lon0) * mx + rng.random_range(-8.0..8.0),
                t * (lat1 - lat0) * my + rng.random_range(-8.0..8.0),
            )
        } else {
            let r = (-100.0 * (1.0 - rng.random_range(0.0..1.0f64)).ln()).min(1_000.0);
            let a = rng.random_range(0.0..std::f64::consts::TAU);
            (r * a.cos(), r * a.sin())
        };
        let (lon, lat) = (lon0 + dx / mx, lat0 + dy / my);
        let mut pick = rng.random_range(0..mix_total);
        let crime = MIX
            .iter()
            .find(|(_, w)| {
                let hit = pick < *w;
                pick = pick.saturating_sub(*w);
                hit
            })
            .map_or(MIX[0].0, |m| m.0);
        let month = 1 + rng.random_range(0..12u32);
        if crime == "Anti-social behaviour" {
            write!(out, ",")?;
        } else {
            write!(out, "{:064x},", (k as u128 + 1) * 0x9e37_79b9_7f4a_7c15)?;
        }
        writeln!(
            out,
            "2023-{month:02},Firefly bench,Firefly bench,{lon:.6},{lat:.6},On or near Street {p},E01{p:06},Bench {p:05}A,{crime},,"
        )?;
    }
    out.flush()?;
    Ok(strays)
}

/// Counts the bytes written (the GeoJSON goes nowhere: only its size and the time to make
/// it are measured).
struct Counting(u64);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Resets this process's peak resident memory (`VmHWM`) to its current size (Linux 4.0+),
/// so that each phase's peak can be read on its own. False when not possible.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn gb(bytes: Option<u64>) -> String {
    bytes.map_or("unknown".into(), |b| format!("{:.2} GB", b as f64 / 1e9))
}

/// One method's run, as `firefly hotspots --method M --cell 100` with no boundary.
struct MethodRun {
    method: Method,
    read_s: f64,
    /// Projecting and dating every incident ([`crate::app::dataset::Dataset::new`]).
    load_s: f64,
    prepare_s: f64,
    score_s: f64,
    write_s: f64,
    validation_s: f64,
    validation: String,
    bytes: u64,
    area_cells: usize,
    held: usize,
    written: usize,
    selected: usize,
    left_out: usize,
    peak: Option<u64>,
}

impl MethodRun {
    fn total(&self) -> f64 {
        self.read_s + self.load_s + self.prepare_s + self.score_s + self.write_s
    }
}

fn run_method(config: &Config, db: &Path, method: Method) -> anyhow::Result<MethodRun> {
    reset_peak();
    let t = Instant::now();
    let points = Store::open(db)?.incident_points()?;
    let read_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let data = crate::app::dataset::Dataset::new(config.crs, &config.tz, points);
    let load_s = t.elapsed().as_secs_f64();
    let req = HotspotRequest {
        method,
        params: MethodParams::default(),
        as_of: None,
        harm: None,
        filters: FilterRequest {
            cell: CELL_M,
            ..FilterRequest::default()
        },
        all_cells: false,
    };
    let t = Instant::now();
    let mut prepared_at = None;
    let mut result = hotspots::compute(config, &data, &req, &mut |_| {
        prepared_at = Some(t.elapsed().as_secs_f64());
        Ok(())
    })
    .map_err(|e| match e {
        Failure::Invalid(e) | Failure::Other(e) => e,
    })?;
    let total = t.elapsed().as_secs_f64();
    let prepare_s = prepared_at.unwrap_or(0.0);
    drop(data);
    let t = Instant::now();
    let mut sink = Counting(0);
    hotspots::write_geojson(&mut sink, &result, &hotspots::GeoJsonExtras::default())?;
    let write_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let block = validation::of(&result);
    let validation_s = t.elapsed().as_secs_f64();
    let validation = match block["summary"].as_str() {
        Some(s) => s.to_string(),
        None => format!(
            "not available: {}",
            block["reason"].as_str().unwrap_or("no reason given")
        ),
    };
    result.validation = Some(block);
    Ok(MethodRun {
        method,
        read_s,
        load_s,
        prepare_s,
        score_s: total - prepare_s,
        write_s,
        validation_s,
        validation,
        bytes: sink.0,
        area_cells: result.prepared.area_info.cells,
        held: result.scored.n_held,
        written: result.scored.cells.len(),
        selected: result.prepared.selected,
        left_out: result.prepared.area_info.left_out.len(),
        peak: peak_resident_bytes(),
    })
}

/// A real `firefly serve` on a loopback port, with one planner account.
struct Server {
    child: std::process::Child,
    addr: String,
    token: String,
    /// From the server's start until `/readyz` said its incidents were loaded.
    loaded_s: f64,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn firefly(config: &Config, db: &Path, dir: &Path) -> anyhow::Result<std::process::Command> {
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.current_dir(dir)
        .env_remove("FIREFLY_CONFIG")
        .env_remove("FIREFLY_BOUNDARY")
        .env_remove("FIREFLY_DB")
        .arg("--db")
        .arg(db)
        .arg("--tz")
        .arg(&config.tz_name);
    Ok(cmd)
}

fn start_server(config: &Config, db: &Path, dir: &Path) -> anyhow::Result<Server> {
    use std::process::Stdio;
    let mut rng = ChaCha8Rng::seed_from_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(7, |d| d.as_nanos() as u64),
    );
    let password: String = (0..28)
        .map(|_| {
            let c = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
            c[rng.random_range(0..c.len())] as char
        })
        .collect();
    let mut add = firefly(config, db, dir)?
        .args([
            "users",
            "add",
            "bench",
            "--role",
            "planner",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = add.stdin.take() {
        writeln!(stdin, "{password}")?;
    }
    let out = add.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "firefly users add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(dir.join("server.log"))?;
    let child = firefly(config, db, dir)?
        .args(["serve", "--addr", &addr])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    let mut server = Server {
        child,
        addr,
        token: String::new(),
        loaded_s: 0.0,
    };
    let started = Instant::now();
    while http(&server.addr, "GET", "/healthz", "", None).is_err() {
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "firefly serve did not answer on {} within 60 s (see {})",
                server.addr,
                dir.join("server.log").display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let body = serde_json::json!({"username": "bench", "password": password}).to_string();
    let (status, answer) = http(&server.addr, "POST", "/api/v1/auth/login", "", Some(&body))?;
    let token = serde_json::from_slice::<serde_json::Value>(&answer)
        .ok()
        .and_then(|v| v["token"].as_str().map(String::from))
        .ok_or_else(|| anyhow!("login answered {status} without a token"))?;
    server.token = token;
    // The server loads the incidents for the analyses in the background from its start:
    // a viewport is "cold" when its answer is not cached, not while that load runs.
    loop {
        let (_, body) = http(&server.addr, "GET", "/readyz", "", None)?;
        let ready: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if ready["analysis_data_version"].is_i64()
            && ready["analysis_data_version"] == ready["data_version"]
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("firefly serve did not load its incidents within 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    server.loaded_s = started.elapsed().as_secs_f64();
    Ok(server)
}

/// One HTTP/1.1 request on a fresh connection (no compression asked for): status and body.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    http_as(addr, method, path, token, body, None)
}

/// [`http`], asking for `encoding` (the body is returned as it came).
fn http_as(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
    encoding: Option<&str>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(600)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(e) = encoding {
        req.push_str(&format!("Accept-Encoding: {e}\r\n"));
    }
    if !token.is_empty() {
        req.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    stream.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow!("no HTTP header in the answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("no HTTP status in the answer"))?;
    let mut rest = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        rest = dechunk(&rest)?;
    }
    Ok((status, rest))
}

fn dechunk(mut data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| anyhow!("bad chunk"))?;
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)?;
        data = &data[eol + 2..];
        if size == 0 || data.len() < size {
            return Ok(out);
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or(&[]);
    }
}

/// The server's own peak resident memory (its `VmHWM`).
fn child_peak(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

struct Viewport {
    label: &'static str,
    cold_s: f64,
    /// The second identical request.
    cached_s: f64,
    /// The median of the ten requests after it.
    cached_median_s: f64,
    /// Bytes on the wire (brotli) and uncompressed.
    wire: usize,
    bytes: usize,
    features: usize,
    /// The validation block's state in the last answer: none, pending, available or not.
    validation: String,
}

/// What the map UI's browser asks for.
const BROWSER_ENCODING: &str = "gzip, deflate, br, zstd";

fn viewport(
    server: &Server,
    label: &'static str,
    [w, s, e, n]: [f64; 4],
    validation: bool,
) -> anyhow::Result<Viewport> {
    let mut path = format!("/api/v1/hotspots?method=kde&cell={CELL_M}&bbox={w},{s},{e},{n}");
    if !validation {
        path.push_str("&validation=false");
    }
    let ask = |encoding: Option<&str>| -> anyhow::Result<(f64, Vec<u8>)> {
        let t = Instant::now();
        let (status, body) = http_as(&server.addr, "GET", &path, &server.token, None, encoding)?;
        let s = t.elapsed().as_secs_f64();
        if status != 200 {
            bail!(
                "{path} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok((s, body))
    };
    let (cold_s, wire) = ask(Some(BROWSER_ENCODING))?;
    let (cached_s, _) = ask(Some(BROWSER_ENCODING))?;
    let mut hits = (0..10)
        .map(|_| ask(Some(BROWSER_ENCODING)).map(|a| a.0))
        .collect::<anyhow::Result<Vec<f64>>>()?;
    hits.sort_by(f64::total_cmp);
    let (_, body) = ask(None)?;
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let features = answer["features"].as_array().map_or(0, Vec::len);
    Ok(Viewport {
        validation: validation_state(&answer).to_string(),
        label,
        cold_s,
        cached_s,
        cached_median_s: hits[hits.len() / 2],
        wire: wire.len(),
        bytes: body.len(),
        features,
    })
}

fn validation_state(answer: &serde_json::Value) -> &'static str {
    let v = &answer["firefly"]["validation"];
    if v.is_null() {
        "none"
    } else if v["pending"] == true {
        "pending"
    } else if v["available"] == true {
        "available"
    } else {
        "not available"
    }
}

/// Asks the London viewport with validation until its block is no longer pending: the
/// seconds the background validation of the whole area took to land.
fn wait_for_validation(server: &Server) -> anyhow::Result<f64> {
    let [w, s, e, n] = LONDON_BBOX;
    let path = format!("/api/v1/hotspots?method=kde&cell={CELL_M}&bbox={w},{s},{e},{n}");
    let started = Instant::now();
    loop {
        let (_, body) = http_as(&server.addr, "GET", &path, &server.token, None, None)?;
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if validation_state(&answer) != "pending" {
            return Ok(started.elapsed().as_secs_f64());
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the whole area's validation was still pending after 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

pub fn run(config: &Config, args: NationalArgs) -> anyhow::Result<()> {
    let data = crate::commands::demo::data_dir(args.data)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dir = super::tempfile_dir()?;
    let db = match &args.keep_db {
        Some(p) if p.exists() => bail!("--keep-db {}: the file exists already", p.display()),
        Some(p) => p.clone(),
        None => dir.join("national.db"),
    };
    // No configured force boundary: the study area is the data's own.
    let mut config = config.clone();
    config.boundary = None;
    config.db = db.clone().into();

    let pubs = read_pubs(&data)?;
    println!(
        "firefly bench scoring --national: {} generated police.uk incidents (seed {}) around {} pubs, {cores} cores",
        thousands(args.incidents as u64),
        args.seed,
        thousands(pubs.len() as u64)
    );
    let csv = dir.join("national.csv");
    let t = Instant::now();
    let strays = generate(&csv, &pubs, args.incidents, args.seed)?;
    let csv_bytes = std::fs::metadata(&csv).map_or(0, |m| m.len());
    println!(
        "  generated {} ({:.0} MB, {} strays 15 to 80 km out) in {:.1} s",
        csv.display(),
        csv_bytes as f64 / 1e6,
        thousands(strays as u64),
        t.elapsed().as_secs_f64()
    );
    reset_peak();
    let import: Timing = import_files(std::slice::from_ref(&csv), &db, &config)?;
    let import_peak = peak_resident_bytes();
    std::fs::remove_file(&csv).ok();
    let db_bytes = std::fs::metadata(&db).map_or(0, |m| m.len());

    let mut runs = Vec::new();
    for method in [Method::Kde, Method::GiStar] {
        let r = run_method(&config, &db, method)?;
        println!(
            "  {:<7} {:.1} s: read {:.1} s, project {:.1} s, select and study area {:.1} s, score {:.1} s, GeoJSON {:.1} s; validation {:.2} s ({})",
            r.method.as_str(),
            r.total(),
            r.read_s,
            r.load_s,
            r.prepare_s,
            r.score_s,
            r.write_s,
            r.validation_s,
            r.validation
        );
        runs.push(r);
    }

    let server = start_server(&config, &db, &dir)?;
    let mut views = vec![
        viewport(
            &server,
            "~5 x 5 km of central London, validation=false",
            LONDON_BBOX,
            false,
        )?,
        viewport(
            &server,
            "the same viewport with validation (the default): the whole area's block is computed in the background, so the first answers carry a pending block",
            LONDON_BBOX,
            true,
        )?,
    ];
    let validation_wait_s = wait_for_validation(&server)?;
    views.push(viewport(
        &server,
        "~5 x 5 km of central Manchester after the whole area's block landed, with validation",
        MANCHESTER_BBOX,
        true,
    )?);
    let server_peak = child_peak(server.child.id());
    let loaded_s = server.loaded_s;
    drop(server);

    let peak_note = "process peak (VmHWM), reset before each phase";
    println!();
    println!("| what | figure | target |");
    println!("|---|---|---|");
    println!(
        "| import: {} rows ({:.0} MB police.uk CSV) read, validated, stored in a fresh SQLite file ({:.0} MB) | {:.1} s, **{} rows/s**; {peak_note}: {} | |",
        thousands(import.rows),
        csv_bytes as f64 / 1e6,
        db_bytes as f64 / 1e6,
        import.total_s,
        thousands((import.rows as f64 / import.total_s) as u64),
        gb(import_peak)
    );
    for r in &runs {
        let secs = r.total() + r.validation_s;
        let time_ok = r.total() < 60.0;
        let mem_ok = r.peak.is_some_and(|p| p < 4_000_000_000);
        println!(
            "| {} at {CELL_M} m over GB, no boundary: {} incidents selected, study area {} cells ({} strays left out), {} cells held, {} written | **{:.1} s** (read {:.1}, project {:.1}, select and study area {:.1}, score {:.1}, GeoJSON {:.1}); with validation {:.1} s; answer {} bytes; {peak_note}: **{}** | under 60 s: {}; under 4 GB: {} |",
            r.method.as_str(),
            thousands(r.selected as u64),
            thousands(r.area_cells as u64),
            thousands(r.left_out as u64),
            thousands(r.held as u64),
            thousands(r.written as u64),
            r.total(),
            r.read_s,
            r.load_s,
            r.prepare_s,
            r.score_s,
            r.write_s,
            secs,
            thousands(r.bytes),
            gb(r.peak),
            met(time_ok),
            met(mem_ok),
        );
    }
    for v in &views {
        println!(
            "| viewport over HTTP (`firefly serve` on loopback, a new connection per request, asking as a browser does, method=kde&cell={CELL_M}): {}: {} features, {} bytes on the wire, {} uncompressed, validation block {} | cold **{:.0} ms**, cached **{:.1} ms** (median of the next ten {:.1} ms) | cold under 200 ms: {}; cached under 5 ms: {} |",
            v.label,
            thousands(v.features as u64),
            thousands(v.wire as u64),
            thousands(v.bytes as u64),
            v.validation,
            v.cold_s * 1e3,
            v.cached_s * 1e3,
            v.cached_median_s * 1e3,
            met(v.cold_s < 0.2),
            met(v.cached_s < 0.005),
        );
    }
    println!(
        "| the whole area's validation block in the background, from London's first answer with validation until an answer carried it | {validation_wait_s:.1} s | |"
    );
    println!(
        "| `firefly serve` from its start until its incidents are loaded for the analyses (`/readyz` `analysis_data_version`) | {:.1} s | |",
        loaded_s
    );
    println!(
        "| the server's own peak memory (VmHWM of the `firefly serve` process) | {} | |",
        gb(server_peak)
    );
    println!(
        "validation: {}",
        runs.first().map_or("", |r| r.validation.as_str())
    );
    match &args.keep_db {
        Some(p) => println!("kept the database at {}", p.display()),
        None => {
            std::fs::remove_file(&db).ok();
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
