//! The pieces of the forecast bound in `examples/forecast_eval.rs` (issue 15,
//! `docs/forecasts.md`), each checked against values worked out by hand.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../examples/forecast_eval.rs"]
mod forecast_eval;

use approx::assert_relative_eq;
use forecast_eval::{
    Posterior, extra_variance, gamma, hit_at, monthly_counts, npmle, poisson, poisson_pmf,
    rate_support,
};
use planner::category::Category;
use planner::hotspots::ScoringPoint;
use planner::hotspots::grid::Grid;
use planner::time::{OccurredAt, YearMonth};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn hit_rate_takes_the_top_cells_ties_by_position() {
    let score = [3.0, 1.0, 2.0, 2.0, 0.0];
    let test = [1, 5, 2, 0, 2]; // 10 incidents
    let mut buf = Vec::new();
    // Top 2: position 0 (score 3), then position 2 (ties with 3, earlier): 1 + 2 of 10.
    assert_relative_eq!(hit_at(&score, &test, 2, &mut buf), 0.3);
    // Top 3 adds position 3 (no incident).
    assert_relative_eq!(hit_at(&score, &test, 3, &mut buf), 0.3);
    // Top 4 adds position 1 (5 incidents).
    assert_relative_eq!(hit_at(&score, &test, 4, &mut buf), 0.8);
    // More cells than there are: all of them.
    assert_relative_eq!(hit_at(&score, &test, 9, &mut buf), 1.0);
    // Nothing to catch.
    assert!(hit_at(&score, &[0; 5], 2, &mut buf).is_nan());
}

#[test]
fn poisson_probabilities_by_hand() {
    assert_eq!(poisson_pmf(0, 0.0), 1.0);
    assert_eq!(poisson_pmf(1, 0.0), 0.0);
    // 3^2 e^-3 / 2!
    assert_relative_eq!(
        poisson_pmf(2, 3.0),
        4.5 * (-3.0f64).exp(),
        max_relative = 1e-14
    );
    // 2^5 e^-2 / 5! = 32 / 120 e^-2
    assert_relative_eq!(
        poisson_pmf(5, 2.0),
        32.0 / 120.0 * (-2.0f64).exp(),
        max_relative = 1e-14
    );
}

#[test]
fn npmle_of_a_two_point_support_by_hand() {
    // Support {0, 2}, observations 0, 0, 2, 2, weight w on rate 2. Log-likelihood
    // 2 ln(1 - w + w e^-2) + 2 ln(w 2 e^-2); its derivative is zero at
    // w (1 - e^-2) = 1 - w (1 - e^-2), i.e. w = 1 / (2 (1 - e^-2)) = 0.57826.
    let g = npmle(&[0, 0, 2, 2], &[0.0, 2.0], 2000);
    let w = 1.0 / (2.0 * (1.0 - (-2.0f64).exp()));
    assert_relative_eq!(g[1], w, max_relative = 1e-6);
    assert_relative_eq!(g[0] + g[1], 1.0, max_relative = 1e-12);
}

#[test]
fn posterior_by_hand() {
    // Support {0, 2}, prior 1/2 each. A total of 0: 1/2 x 1 against 1/2 x e^-2. A total of 2
    // rules out the rate 0.
    let post = Posterior::new(&[0, 2], &[0.0, 2.0], &[0.5, 0.5]);
    let c0 = post.cdf(0);
    assert_relative_eq!(c0[0], 1.0 / (1.0 + (-2.0f64).exp()), max_relative = 1e-14);
    assert_relative_eq!(c0[1], 1.0, max_relative = 1e-14);
    assert_eq!(post.cdf(2), [0.0, 1.0]);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..100 {
        assert_eq!(post.draw(&mut rng, &[2, 2]), [2.0, 2.0]);
    }
    // Over many draws for a total of 0, the share of rate 0 is 1 / (1 + e^-2) = 0.8808.
    let draws = post.draw(&mut rng, &[0; 100_000]);
    let zeros = draws.iter().filter(|r| **r == 0.0).count() as f64 / 1e5;
    assert!((zeros - 0.8808).abs() < 0.005, "{zeros}");
}

#[test]
fn rate_support_spans_zero_to_one_and_a_half_times_the_largest_total() {
    let s = rate_support(&[0, 3, 40]);
    assert_eq!(s.len(), 301);
    assert_eq!(s[0], 0.0);
    assert_relative_eq!(s[1], 0.01, max_relative = 1e-12);
    assert_relative_eq!(s[300], 60.0, max_relative = 1e-12);
    assert!(s.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn poisson_draws_have_the_right_mean_variance_and_zeros() {
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    // Below and above the 30 at which the draw is split into pieces.
    for lambda in [0.5, 3.7, 45.0] {
        let n = 100_000;
        let xs: Vec<f64> = (0..n)
            .map(|_| f64::from(poisson(&mut rng, lambda)))
            .collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        // Standard error of the mean sqrt(lambda / n): at most 0.021 here.
        assert!((mean - lambda).abs() < 0.1, "{lambda}: mean {mean}");
        assert!(
            (var / lambda - 1.0).abs() < 0.03,
            "{lambda}: variance {var}"
        );
        if lambda == 0.5 {
            // P(0) = e^-0.5 = 0.6065.
            let zeros = xs.iter().filter(|x| **x == 0.0).count() as f64 / n as f64;
            assert!((zeros - 0.6065).abs() < 0.005, "{zeros}");
        }
    }
    assert_eq!(poisson(&mut rng, 0.0), 0);
}

#[test]
fn gamma_draws_have_mean_and_variance_equal_to_the_shape() {
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    for shape in [0.5, 4.86] {
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|_| gamma(&mut rng, shape)).collect();
        assert!(xs.iter().all(|x| *x > 0.0));
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        assert!((mean / shape - 1.0).abs() < 0.02, "{shape}: mean {mean}");
        assert!((var / shape - 1.0).abs() < 0.05, "{shape}: variance {var}");
    }
}

#[test]
fn extra_variance_by_hand() {
    // Three months, two cells: [0, 3, 6] (mean 3, sample variance 9) and [2, 2, 2] (mean 2,
    // variance 0). (9 - 3 + 0 - 2) / (9 - 9/3 + 4 - 0) = 4 / 10.
    let counts = vec![vec![0, 2], vec![3, 2], vec![6, 2]];
    assert_relative_eq!(extra_variance(&counts), 0.4, max_relative = 1e-14);
}

#[test]
fn monthly_counts_by_hand() {
    // Two 100 m cells; months from 2023-05.
    let grid = Grid::from_bbox(100.0, 0.0, 0.0, 199.0, 99.0).unwrap();
    let cells: Vec<usize> = grid.inside_cells().collect();
    let at = |x: f64, year: i16, month: i8| ScoringPoint {
        x,
        y: 50.0,
        category: Category::Violence,
        occurred: OccurredAt::Month(YearMonth { year, month }),
    };
    let pts = [
        at(50.0, 2023, 5),
        at(50.0, 2023, 5),
        at(150.0, 2023, 6),
        at(150.0, 2024, 4),
        at(150.0, 2023, 4),  // before the first month: dropped
        at(150.0, 2024, 5),  // after the twelfth: dropped
        at(1050.0, 2023, 6), // outside the grid: dropped
    ];
    let first = YearMonth {
        year: 2023,
        month: 5,
    };
    let c = monthly_counts(&grid, &cells, &pts, first);
    assert_eq!(c.len(), 12);
    assert_eq!(c[0], [2, 0]);
    assert_eq!(c[1], [0, 1]);
    assert_eq!(c[11], [0, 1]);
    assert_eq!(c.iter().flatten().sum::<u32>(), 4);
}
