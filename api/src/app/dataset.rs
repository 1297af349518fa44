//! The stored incidents as every analysis reads them, prepared once: projected into the
//! data's CRS, with each incident's local dates worked out. The CLI builds one per command;
//! the HTTP server keeps one per data version (its `DatasetCache`), so a map
//! viewport over six million incidents filters a table in memory instead of reading,
//! converting and projecting every row again.
//!
//! The CRS is the data's, not a selection's: chosen from the median of all stored incidents
//! (so a few stray geocodes cannot move it), it is the same whatever the filters, and two
//! answers' grids always line up.

use crate::config::CrsChoice;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use planner::crs::Crs;
use planner::{IncidentPoint, OccurredAt};
use std::collections::HashMap;
use std::sync::Mutex;

/// Incidents ready to filter and score.
pub struct Dataset {
    points: Vec<IncidentPoint>,
    /// Projected position of each point in [`Dataset::crs`]; NaN when it cannot be projected.
    xy: Vec<[f64; 2]>,
    /// First and last local date of each point (a month-only incident spans its month).
    spans: Vec<(Date, Date)>,
    /// Projectable rows by [`BUCKET_M`] square (row-major), in import order within each.
    by_bucket: Vec<u32>,
    /// Each non-empty bucket `(row, col)` and where its rows start in `by_bucket`, sorted.
    buckets: Vec<BucketStart>,
    /// What a selection keeps of the whole data, per selection (see [`Summary`]).
    summaries: Mutex<HashMap<String, Summary>>,
    crs: Crs,
    tz: TimeZone,
}

/// A square of the index, `(row, col)`, and the position of its first row in `by_bucket`.
type BucketStart = ((i64, i64), u32);

/// The side of the spatial index's squares, metres.
pub const BUCKET_M: f64 = 1000.0;

/// How many selections' summaries are remembered (a map user changes filters rarely).
const SUMMARIES: usize = 64;

/// What the filters keep of the whole data: the counts an answer reports and its default
/// `as_of`, which do not depend on where the map looks. Remembered per selection, so a
/// viewport reads only the rows near it ([`Dataset::rows_near`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    pub excluded_category: usize,
    pub excluded_dates: usize,
    pub excluded_window: usize,
    pub place_only: usize,
    pub unprojectable: usize,
    /// Kept and projectable.
    pub selected: usize,
    pub latest: Option<Timestamp>,
}

impl Dataset {
    /// Projects and dates `points` (on every core: six million take about a second each).
    pub fn new(crs_choice: CrsChoice, tz: &TimeZone, points: Vec<IncidentPoint>) -> Dataset {
        let crs = super::analysis::crs_for(crs_choice, points.iter().map(|p| (p.lon, p.lat)));
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let chunk = points.len().div_ceil(threads).max(1);
        let mut xy = vec![[f64::NAN; 2]; points.len()];
        let mut spans = vec![(Date::MIN, Date::MAX); points.len()];
        std::thread::scope(|s| {
            for ((part, xy), spans) in points
                .chunks(chunk)
                .zip(xy.chunks_mut(chunk))
                .zip(spans.chunks_mut(chunk))
            {
                let (crs, tz) = (&crs, tz);
                s.spawn(move || {
                    for ((p, xy), span) in part.iter().zip(xy).zip(spans) {
                        if let Ok(q) = crs.project(p.lon, p.lat) {
                            *xy = [q.x, q.y];
                        }
                        *span = local_span(&p.occurred, tz);
                    }
                });
            }
        });
        let (by_bucket, buckets) = bucket_index(&xy);
        Dataset {
            points,
            xy,
            spans,
            by_bucket,
            buckets,
            summaries: Mutex::new(HashMap::new()),
            crs,
            tz: tz.clone(),
        }
    }

    /// The remembered summary of the selection `key`.
    pub fn summary(&self, key: &str) -> Option<Summary> {
        let memo = self.summaries.lock().unwrap_or_else(|e| e.into_inner());
        memo.get(key).copied()
    }

    /// Remembers the summary of the selection `key` (forgetting all once there are many).
    pub fn remember(&self, key: String, summary: Summary) {
        let mut memo = self.summaries.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() >= SUMMARIES {
            memo.clear();
        }
        memo.insert(key, summary);
    }

    /// The rows whose squares of the index meet the rectangle (a superset of those inside
    /// it), in import order; `None` when that is more than a quarter of the data, where
    /// one pass over everything is as quick.
    pub fn rows_near(&self, [min_x, min_y, max_x, max_y]: [f64; 4]) -> Option<Vec<usize>> {
        if !(min_x <= max_x && min_y <= max_y) {
            return Some(Vec::new());
        }
        let (c0, c1) = (bucket(min_x), bucket(max_x));
        let (r0, r1) = (bucket(min_y), bucket(max_y));
        let mut ranges = Vec::new();
        let mut total = 0usize;
        for r in r0..=r1 {
            let from = self.buckets.partition_point(|&(k, _)| k < (r, c0));
            let to = self.buckets.partition_point(|&(k, _)| k <= (r, c1));
            for b in from..to {
                let start = self.buckets[b].1 as usize;
                let end = self
                    .buckets
                    .get(b + 1)
                    .map_or(self.by_bucket.len(), |&(_, s)| s as usize);
                total += end - start;
                ranges.push(start..end);
            }
            if total > self.points.len() / 4 {
                return None;
            }
        }
        let mut rows: Vec<usize> = ranges
            .into_iter()
            .flat_map(|range| self.by_bucket[range].iter().map(|&i| i as usize))
            .collect();
        rows.sort_unstable();
        Some(rows)
    }

    /// Row `i`, as [`Dataset::rows`] gives it.
    pub fn row(&self, i: usize) -> (&IncidentPoint, [f64; 2], (Date, Date)) {
        (&self.points[i], self.xy[i], self.spans[i])
    }

    /// Every incident stored in `store`.
    pub fn load(
        store: &crate::storage::Store,
        config: &crate::config::Config,
    ) -> Result<Dataset, crate::storage::StoreError> {
        Ok(Dataset::new(
            config.crs,
            &config.tz,
            store.incident_points()?,
        ))
    }

    /// From whole incidents (tests and the commands that hold them anyway).
    pub fn of_incidents(
        crs_choice: CrsChoice,
        tz: &TimeZone,
        incidents: &[planner::Incident],
    ) -> Dataset {
        Dataset::new(crs_choice, tz, incidents.iter().map(Into::into).collect())
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The data's CRS.
    pub fn crs(&self) -> &Crs {
        &self.crs
    }

    /// The time zone the local dates are in.
    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// Each incident with its projected position (NaN when unprojectable) and local dates.
    pub fn rows(&self) -> impl Iterator<Item = (&IncidentPoint, [f64; 2], (Date, Date))> {
        self.points
            .iter()
            .zip(self.xy.iter().copied())
            .zip(self.spans.iter().copied())
            .map(|((p, xy), span)| (p, xy, span))
    }

    /// Bytes held (for the server's metrics and the benchmark).
    pub fn heap_bytes(&self) -> usize {
        self.points.capacity() * std::mem::size_of::<IncidentPoint>()
            + self.xy.capacity() * std::mem::size_of::<[f64; 2]>()
            + self.spans.capacity() * std::mem::size_of::<(Date, Date)>()
            + self.by_bucket.capacity() * std::mem::size_of::<u32>()
            + self.buckets.capacity() * std::mem::size_of::<BucketStart>()
    }
}

fn bucket(v: f64) -> i64 {
    (v / BUCKET_M).floor() as i64
}

/// The projectable rows ordered by square (row-major) and, within one, by import order;
/// with where each square's rows start.
fn bucket_index(xy: &[[f64; 2]]) -> (Vec<u32>, Vec<BucketStart>) {
    // Squares as one sortable number (row, then column, each offset to be non-negative),
    // computed once per row rather than at every comparison of the sort.
    let packed = |x: f64, y: f64| {
        let part =
            |v: f64| (bucket(v).clamp(i32::MIN as i64, i32::MAX as i64) - i32::MIN as i64) as u64;
        (part(y) << 32) | part(x)
    };
    let unpack = |k: u64| {
        let part = |v: u64| v as i64 + i32::MIN as i64;
        (part(k >> 32), part(k & 0xffff_ffff))
    };
    let mut keyed: Vec<(u64, u32)> = xy
        .iter()
        .enumerate()
        .filter(|(_, p)| !p[0].is_nan())
        .map(|(i, &[x, y])| (packed(x, y), i as u32))
        .collect();
    // The index breaks ties, so import order is kept within a square.
    keyed.sort_unstable();
    let mut buckets: Vec<BucketStart> = Vec::new();
    let mut last = None;
    for (at, &(k, _)) in keyed.iter().enumerate() {
        if last != Some(k) {
            buckets.push((unpack(k), at as u32));
            last = Some(k);
        }
    }
    (keyed.into_iter().map(|(_, i)| i).collect(), buckets)
}

/// The local dates an incident covers: its day, or its whole month.
pub fn local_span(occurred: &OccurredAt, tz: &TimeZone) -> (Date, Date) {
    match *occurred {
        OccurredAt::Exact(t) => {
            let d = t.to_zoned(tz.clone()).date();
            (d, d)
        }
        OccurredAt::Month(m) => {
            let first = m.first_day();
            (first, first.last_of_month())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use planner::Category;
    use planner::time::YearMonth;

    fn point(lon: f64, lat: f64, occurred: OccurredAt) -> IncidentPoint {
        IncidentPoint {
            lon,
            lat,
            category: Category::ViolenceAndSexual,
            occurred,
        }
    }

    #[test]
    fn projects_and_dates_every_point_in_order() {
        let tz = TimeZone::get("Europe/London").unwrap();
        // 23:30 UTC on 30 March 2024 is still 23:30 GMT (the clocks went forward at 01:00
        // UTC on the 31st): the local date is the 30th.
        let late = "2024-03-30T23:30:00Z".parse().unwrap();
        let points = vec![
            point(-0.4657, 52.1359, OccurredAt::Exact(late)),
            point(
                -0.4,
                52.0,
                OccurredAt::Month(YearMonth::parse("2024-02").unwrap()),
            ),
            point(400.0, 52.0, OccurredAt::Exact(late)),
        ];
        let d = Dataset::new(CrsChoice::Auto, &tz, points.clone());
        assert_eq!(d.len(), 3);
        assert_eq!(
            d.crs().kind().to_string(),
            Crs::new(planner::crs::CrsKind::Bng).kind().to_string()
        );
        let rows: Vec<_> = d.rows().collect();
        for (row, p) in rows.iter().zip(&points) {
            assert_eq!(row.0, p);
        }
        let bedford = d.crs().project(-0.4657, 52.1359).unwrap();
        assert_eq!(rows[0].1, [bedford.x, bedford.y]);
        assert_eq!(
            rows[0].2,
            (
                jiff::civil::date(2024, 3, 30),
                jiff::civil::date(2024, 3, 30)
            )
        );
        // Midnight UTC in summer is 01:00 local: the date moves.
        assert_eq!(
            local_span(
                &OccurredAt::Exact("2024-06-01T23:30:00Z".parse().unwrap()),
                &tz
            )
            .0,
            jiff::civil::date(2024, 6, 2)
        );
        assert_eq!(
            rows[1].2,
            (
                jiff::civil::date(2024, 2, 1),
                jiff::civil::date(2024, 2, 29)
            )
        );
        assert!(rows[2].1[0].is_nan() && rows[2].1[1].is_nan());
    }

    /// `rows_near` gives every row inside a rectangle (checked against a scan of all rows),
    /// in import order, on points around and across the index's square edges.
    #[test]
    fn the_index_finds_every_row_near_a_rectangle() {
        use rand::{RngExt, SeedableRng};
        let tz = TimeZone::get("Europe/London").unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let month = OccurredAt::Month(YearMonth::parse("2024-02").unwrap());
        let mut points: Vec<IncidentPoint> = (0..20_000)
            .map(|_| {
                point(
                    rng.random_range(-0.6..-0.2),
                    rng.random_range(51.8..52.1),
                    month,
                )
            })
            .collect();
        points.push(point(f64::NAN, 52.0, month));
        let d = Dataset::new(CrsChoice::Bng, &tz, points);
        let origin = d.crs().project(-0.4, 51.95).unwrap();
        for (w, h) in [(0.0, 0.0), (450.0, 1999.0), (3000.0, 2500.0), (1e9, 1e9)] {
            let rect = [origin.x - w, origin.y - h, origin.x + w, origin.y + h];
            let inside = |i: &usize| {
                let [x, y] = d.row(*i).1;
                (rect[0]..=rect[2]).contains(&x) && (rect[1]..=rect[3]).contains(&y)
            };
            let want: Vec<usize> = (0..d.len()).filter(inside).collect();
            match d.rows_near(rect) {
                Some(rows) => {
                    assert!(rows.windows(2).all(|p| p[0] < p[1]), "import order");
                    let got: Vec<usize> = rows.into_iter().filter(inside).collect();
                    assert_eq!(got, want, "{w} x {h}");
                    assert!(w < 1e9);
                }
                None => assert!(want.len() > d.len() / 8, "{w} x {h}: {}", want.len()),
            }
        }
        assert_eq!(d.rows_near([1.0, 1.0, 0.0, 0.0]), Some(vec![]));
    }

    /// The README's figure: under 80 bytes per incident held (0.5 GB for 6 million).
    #[test]
    fn an_incident_costs_under_80_bytes() {
        let tz = TimeZone::get("Europe/London").unwrap();
        let month = OccurredAt::Month(YearMonth::parse("2024-02").unwrap());
        let points: Vec<IncidentPoint> = (0..10_000)
            .map(|k| {
                point(
                    -0.5 + (k % 100) as f64 * 1e-3,
                    52.0 + (k / 100) as f64 * 1e-3,
                    month,
                )
            })
            .collect();
        let d = Dataset::new(CrsChoice::Bng, &tz, points);
        let per_incident = d.heap_bytes() as f64 / d.len() as f64;
        assert!(per_incident < 80.0, "{per_incident} bytes per incident");
    }

    #[test]
    fn an_empty_dataset_has_a_crs_and_no_rows() {
        let tz = TimeZone::get("Europe/London").unwrap();
        let d = Dataset::new(CrsChoice::Bng, &tz, Vec::new());
        assert!(d.is_empty());
        assert_eq!(d.rows().count(), 0);
    }
}
