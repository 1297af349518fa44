//! The embedded night-time-economy prior ([`planner::hotspots::prior`]) recomputed from the
//! real Houston file it claims to come from, so the constant cannot drift or be invented.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use flate2::read::GzDecoder;
use planner::hotspots::prior::{HOUSTON_NTE_COUNTS, nte_prior, smoothed_shares};
use planner::hotspots::profile::{HOURS_PER_WEEK, hour_of_week};
use planner::import::us_open_data::{UsSource, read};
use std::path::PathBuf;

const FILE: &str = "us/houston_crime_2010-01_to_2010-08.csv.gz";

fn recount() -> [u16; HOURS_PER_WEEK] {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data")).join(FILE);
    let file = std::fs::File::open(&path).unwrap();
    let import = read(FILE, GzDecoder::new(file), UsSource::Houston);
    assert!(
        import.is_clean(),
        "{:?}",
        &import.errors[..3.min(import.errors.len())]
    );
    // SOURCES.md: 86,314 rows, 5 without coordinates.
    assert_eq!(import.rows, 86_314);
    assert_eq!(import.records.len(), 86_314 - 5);
    let tz = jiff::tz::TimeZone::get(UsSource::Houston.zone()).unwrap();
    let mut counts = [0u16; HOURS_PER_WEEK];
    let mut n = 0;
    for i in &import.records {
        let location = i.location.as_deref().unwrap_or("");
        if !location.starts_with("bar / night club") {
            continue;
        }
        n += 1;
        counts[hour_of_week(i.occurred.instant().unwrap(), &tz)] += 1;
    }
    // SOURCES.md: 1,917 such offences (880 + 1,037).
    assert_eq!(n, 1917);
    counts
}

#[test]
fn embedded_prior_equals_the_recomputation_from_the_houston_file() {
    let counts = recount();
    assert_eq!(counts, HOUSTON_NTE_COUNTS);
    let p = nte_prior();
    let q = smoothed_shares(&counts);
    assert_eq!(p, q);
    // The documented smoothing, spelled out.
    for h in 0..HOURS_PER_WEEK {
        assert_eq!(
            p[h],
            (f64::from(counts[h]) + 0.5) / (1917.0 + 84.0),
            "hour {h}"
        );
    }
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

#[test]
fn the_pattern_sources_md_describes() {
    let counts = recount();
    let day = |d: usize| -> u32 {
        counts[d * 24..(d + 1) * 24]
            .iter()
            .map(|&c| u32::from(c))
            .sum()
    };
    // By weekday (local calendar day): Sat 464, Sun 385, Fri 366 vs Tue 147.
    assert_eq!((day(5), day(6), day(4), day(1)), (464, 385, 366, 147));
    assert!(day(5) > day(1));
    let hour = |h: usize| -> u32 { (0..7).map(|d| u32::from(counts[d * 24 + h])).sum() };
    // Peak 22:00-02:00: 23 h 274, 00 h 253.
    assert_eq!((hour(23), hour(0)), (274, 253));
    let late: u32 = [22, 23, 0, 1, 2].iter().map(|&h| hour(h)).sum();
    // Five of 24 hours hold most of the offences (uniform would be 21 %).
    assert!(f64::from(late) / 1917.0 > 0.6, "{late}");
    // Every one of those five hours beats every hour from 06:00 to 16:00 by far.
    let quiet_max = (6..=16).map(hour).max().unwrap();
    assert!([22, 23, 0, 1, 2].iter().all(|&h| hour(h) > 4 * quiet_max));
    // And the prior carries it: Saturday 01:00 against Tuesday 10:00.
    let p = nte_prior();
    assert!(p[5 * 24 + 1] > 40.0 * p[24 + 10]); // 68.5 / 1.5
}
