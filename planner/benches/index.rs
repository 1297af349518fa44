//! R-tree build and query time, and memory, for one million incident points.
//!
//! The data is fixed (seeded): 1,000,000 points over a 40 km x 40 km square of British
//! National Grid, 70 % spread evenly and 30 % clustered around a dozen town centres and
//! snapped to a 20 m grid, as police.uk snaps incidents to anonymous map points (so many
//! points are exact duplicates). Before the benchmarks run, the binary prints what holding
//! the index costs in memory, measured from the kernel's resident-set figures.
//!
//! Run with `cargo bench -p planner --bench index`.

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group};
use planner::index::{IndexedPoint, PointIndex};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rstar::RTreeNode;
use std::time::Duration;

const N: usize = 1_000_000;
const X0: f64 = 500_000.0;
const Y0: f64 = 200_000.0;
const SIDE: f64 = 40_000.0;

/// Town centres (offsets from the south-west corner, metres) and their spread.
const CENTRES: [(f64, f64, f64); 12] = [
    (20_000.0, 20_000.0, 400.0),
    (8_000.0, 31_000.0, 250.0),
    (33_000.0, 9_000.0, 300.0),
    (12_500.0, 6_000.0, 200.0),
    (29_000.0, 27_500.0, 350.0),
    (3_000.0, 15_000.0, 150.0),
    (36_500.0, 36_000.0, 200.0),
    (17_000.0, 37_000.0, 150.0),
    (24_000.0, 14_000.0, 250.0),
    (6_500.0, 22_000.0, 200.0),
    (38_000.0, 18_500.0, 150.0),
    (15_000.0, 26_000.0, 300.0),
];

/// A point from a 2-D normal distribution around a town centre, snapped to 20 m.
fn clustered(rng: &mut ChaCha8Rng) -> (f64, f64) {
    let (cx, cy, sigma) = CENTRES[rng.random_range(0..CENTRES.len())];
    let u: f64 = rng.random_range(0.0..1.0);
    let r = sigma * (-2.0 * (1.0 - u).ln()).sqrt();
    let a = rng.random_range(0.0..std::f64::consts::TAU);
    let snap = |v: f64| (v / 20.0).round() * 20.0;
    (
        X0 + snap((cx + r * a.cos()).clamp(0.0, SIDE)),
        Y0 + snap((cy + r * a.sin()).clamp(0.0, SIDE)),
    )
}

fn points(n: usize, seed: u64) -> Vec<(f64, f64, u32)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n as u32)
        .map(|id| {
            let (x, y) = if rng.random_bool(0.3) {
                clustered(&mut rng)
            } else {
                (
                    X0 + rng.random_range(0.0..SIDE),
                    Y0 + rng.random_range(0.0..SIDE),
                )
            };
            (x, y, id)
        })
        .collect()
}

/// Query centres: half in town centres (busy queries), half anywhere.
fn query_centres(n: usize, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            if i % 2 == 0 {
                clustered(&mut rng)
            } else {
                (
                    X0 + rng.random_range(0.0..SIDE),
                    Y0 + rng.random_range(0.0..SIDE),
                )
            }
        })
        .collect()
}

/// `VmRSS` and `VmHWM` (peak) of this process in kB, from /proc/self/status (Linux).
fn rss_kb() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Bytes of the tree's nodes by walking it: a lower bound (no spare `Vec` capacity, no
/// allocator overhead).
fn node_bytes(index: &PointIndex) -> usize {
    fn walk(node: &RTreeNode<IndexedPoint>) -> usize {
        match node {
            RTreeNode::Leaf(_) => 0,
            RTreeNode::Parent(p) => {
                size_of_val(p.children()) + p.children().iter().map(walk).sum::<usize>()
            }
        }
    }
    let root = index.as_rtree().root();
    size_of_val(index.as_rtree())
        + size_of_val(root.children())
        + root.children().iter().map(walk).sum::<usize>()
}

/// Prints the memory held by a 1M-point index, measured as the growth of the process's
/// resident set: taken before the input is generated and after the index is built and the
/// input consumed, so it includes anything the allocator kept from the build.
fn report_memory() {
    let mb = |kb: u64| kb as f64 / 1024.0;
    let Some((rss_before, _)) = rss_kb() else {
        eprintln!("index memory: /proc/self/status unavailable, not measured");
        return;
    };
    let input = points(N, 27700);
    let index = PointIndex::new(input);
    let Some((rss_built, peak)) = rss_kb() else {
        return;
    };
    let nodes = node_bytes(&index);
    eprintln!(
        "index memory, {} points: resident set grew {:.1} MiB (VmRSS {:.1} -> {:.1} MiB; \
         peak VmHWM {:.1} MiB, input Vec included); tree nodes by walk {:.1} MiB, {:.1} bytes \
         per point (lower bound: {} bytes per node slot, no spare capacity)",
        index.len(),
        mb(rss_built.saturating_sub(rss_before)),
        mb(rss_before),
        mb(rss_built),
        mb(peak),
        nodes as f64 / (1024.0 * 1024.0),
        nodes as f64 / index.len() as f64,
        size_of::<RTreeNode<IndexedPoint>>(),
    );
}

fn bench_build(c: &mut Criterion) {
    let input = points(N, 27700);
    let mut group = c.benchmark_group("index_build");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(N as u64));
    group.bench_function("bulk_load_1m", |b| {
        b.iter_batched(|| input.clone(), PointIndex::new, BatchSize::LargeInput)
    });
    group.finish();
}

fn bench_queries(c: &mut Criterion) {
    let index = PointIndex::new(points(N, 27700));
    let centres = query_centres(1024, 8);
    let zone = |x: f64, y: f64| {
        // A 32-sided patrol zone of radius 300 m.
        let ring: Vec<(f64, f64)> = (0..32)
            .map(|i| {
                let a = f64::from(i) * std::f64::consts::TAU / 32.0;
                (x + 300.0 * a.cos(), y + 300.0 * a.sin())
            })
            .collect();
        geo::Polygon::new(ring.into(), vec![])
    };
    let zones: Vec<geo::Polygon<f64>> = centres.iter().map(|&(x, y)| zone(x, y)).collect();

    let mut group = c.benchmark_group("index_query_1m");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut i = 0;
    let mut next = move || {
        i = (i + 1) % centres.len();
        (i, centres[i])
    };
    group.bench_function("within_radius_200m", |b| {
        b.iter(|| {
            let (_, (x, y)) = next();
            index.within_radius(x, y, 200.0)
        })
    });
    group.bench_function("in_bbox_1km", |b| {
        b.iter(|| {
            let (_, (x, y)) = next();
            index.in_bbox(x - 500.0, y - 500.0, x + 500.0, y + 500.0)
        })
    });
    group.bench_function("in_polygon_300m_32gon", |b| {
        b.iter(|| {
            let (i, _) = next();
            index.in_polygon(&zones[i])
        })
    });
    group.bench_function("nearest_k10", |b| {
        b.iter(|| {
            let (_, (x, y)) = next();
            index.nearest(x, y, 10)
        })
    });
    group.bench_function("nearest_within_50m", |b| {
        b.iter(|| {
            let (_, (x, y)) = next();
            index.nearest_within(x, y, 50.0)
        })
    });
    group.finish();

    // Venue risk's real workload: every incident against a few thousand premises.
    let premises = PointIndex::new(points(2_000, 1));
    let incidents = points(100_000, 2);
    let mut group = c.benchmark_group("venue_attribution");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(incidents.len() as u64));
    group.bench_function("100k_incidents_to_2k_premises_50m", |b| {
        b.iter(|| {
            incidents
                .iter()
                .filter(|&&(x, y, _)| premises.nearest_within(x, y, 50.0).is_some())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_build, bench_queries);

fn main() {
    report_memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
