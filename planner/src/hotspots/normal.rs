//! The normal distribution's tail, for Gi* p-values.
//!
//! Gi* z-scores are read against the standard normal. Hot-spot classes hinge on p-values
//! near 0.01, and Benjamini-Hochberg multiplies the smallest p-values by up to the number of
//! cells (hundreds of thousands), so the upper tail must keep its *relative* accuracy far out:
//! `1 - cdf(z)` would round to 0 beyond z = 8. This module computes `erfc` directly with
//! W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximations for the
//! error function", Math. Comp. 23, 1969, 631-638; the coefficients of Netlib's SPECFUN
//! `CALERF`), good to about 1e-16 relative in double precision, rather than take a
//! statistics dependency for three functions.

// Cody's coefficients and the reference values are written with the digits they were
// published with, so they can be checked against their sources.
#![allow(clippy::excessive_precision)]

/// 1/sqrt(pi).
const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_3;

/// erf on |x| <= 0.5 (Cody's first interval: x * P(x^2) / Q(x^2)).
const A: [f64; 5] = [
    3.161_123_743_870_565_6,
    1.138_641_541_510_501_6e2,
    3.774_852_376_853_020_2e2,
    3.209_377_589_138_469_5e3,
    1.857_777_061_846_031_5e-1,
];
const B: [f64; 4] = [
    2.360_129_095_234_412_1e1,
    2.440_246_379_344_441_7e2,
    1.282_616_526_077_372_3e3,
    2.844_236_833_439_170_6e3,
];
/// erfc on 0.46875 < |x| <= 4 (second interval).
const C: [f64; 9] = [
    5.641_884_969_886_701e-1,
    8.883_149_794_388_376,
    6.611_919_063_714_163e1,
    2.986_351_381_974_001_3e2,
    8.819_522_212_417_691e2,
    1.712_047_612_634_070_6e3,
    2.051_078_377_826_071_5e3,
    1.230_339_354_797_997_2e3,
    2.153_115_354_744_038_5e-8,
];
const D: [f64; 8] = [
    1.574_492_611_070_983_5e1,
    1.176_939_508_913_125e2,
    5.371_811_018_620_099e2,
    1.621_389_574_566_690_2e3,
    3.290_799_235_733_459_7e3,
    4.362_619_090_143_247e3,
    3.439_367_674_143_721_6e3,
    1.230_339_354_803_749_4e3,
];
/// erfc on |x| > 4 (third interval, in 1/x^2).
const P: [f64; 6] = [
    3.053_266_349_612_323_4e-1,
    3.603_448_999_498_044_4e-1,
    1.257_817_261_112_292_5e-1,
    1.608_378_514_874_227_7e-2,
    6.587_491_615_298_378e-4,
    1.631_538_713_730_209_8e-2,
];
const Q: [f64; 5] = [
    2.568_520_192_289_822,
    1.872_952_849_923_460_5,
    5.279_051_029_514_284e-1,
    6.051_834_131_244_132e-2,
    2.335_204_976_268_691_8e-3,
];

/// Beyond this, erfc(x) underflows to 0 in double precision.
const X_BIG: f64 = 26.543;
const THRESH: f64 = 0.46875;

/// erf(x) for |x| <= THRESH.
fn erf_small(x: f64) -> f64 {
    let ysq = x * x;
    let mut num = A[4] * ysq;
    let mut den = ysq;
    for i in 0..3 {
        num = (num + A[i]) * ysq;
        den = (den + B[i]) * ysq;
    }
    x * (num + A[3]) / (den + B[3])
}

/// erfc(y) for y > THRESH.
fn erfc_large(y: f64) -> f64 {
    if y >= X_BIG {
        return 0.0;
    }
    let r = if y <= 4.0 {
        let mut num = C[8] * y;
        let mut den = y;
        for i in 0..7 {
            num = (num + C[i]) * y;
            den = (den + D[i]) * y;
        }
        (num + C[7]) / (den + D[7])
    } else {
        let ysq = 1.0 / (y * y);
        let mut num = P[5] * ysq;
        let mut den = ysq;
        for i in 0..4 {
            num = (num + P[i]) * ysq;
            den = (den + Q[i]) * ysq;
        }
        let r = ysq * (num + P[4]) / (den + Q[4]);
        (FRAC_1_SQRT_PI - r) / y
    };
    // exp(-y^2) split as exp(-ysq^2) exp(-del) with ysq = y rounded down to 1/16, so the
    // rounding error of y*y is not amplified (Cody's device).
    let ysq = (y * 16.0).trunc() / 16.0;
    let del = (y - ysq) * (y + ysq);
    (-ysq * ysq).exp() * (-del).exp() * r
}

/// The complementary error function, erfc(x) = 1 - erf(x), with full relative accuracy in
/// the upper tail.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let y = x.abs();
    let r = if y <= THRESH {
        1.0 - erf_small(y)
    } else {
        erfc_large(y)
    };
    if x < 0.0 { 2.0 - r } else { r }
}

/// The error function.
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.abs() <= THRESH {
        erf_small(x)
    } else {
        let r = 1.0 - erfc_large(x.abs());
        if x < 0.0 { -r } else { r }
    }
}

/// P(Z <= z) for a standard normal Z.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// P(Z > z) for a standard normal Z (accurate far into the tail).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Two-sided p-value of a z-score: P(|Z| >= |z|).
///
/// ```
/// use planner::hotspots::normal::two_sided_p;
/// assert!((two_sided_p(1.959963984540054) - 0.05).abs() < 1e-15);
/// assert_eq!(two_sided_p(0.0), 1.0);
/// ```
pub fn two_sided_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// Reference values of erfc(x) for the double nearest each x, from mpmath at 35 digits
    /// (computed outside this code base).
    #[test]
    fn erfc_matches_known_values() {
        let cases = [
            (0.0, 1.0),
            (0.1, 0.887_537_083_981_715_101_595_287_748_986),
            (0.3, 0.671_373_240_540_872_583_810_382_014_682),
            (0.5, 0.479_500_122_186_953_462_317_253_346_108),
            (1.0, 0.157_299_207_050_285_130_658_779_364_917),
            (2.0, 4.677_734_981_047_265_837_930_743_632_75e-3),
            (3.0, 2.209_049_699_858_544_137_277_612_958_23e-5),
            (4.0, 1.541_725_790_028_001_885_215_967_348_69e-8),
            (5.0, 1.537_459_794_428_034_850_188_343_485_38e-12),
            (10.0, 2.088_487_583_762_544_757_000_786_294_96e-45),
            (-1.0, 1.842_700_792_949_714_869_341_220_635_08),
        ];
        for (x, want) in cases {
            assert_relative_eq!(erfc(x), want, max_relative = 2e-15);
        }
        assert_eq!(erfc(30.0), 0.0);
        assert_eq!(erfc(-30.0), 2.0);
        assert!(erfc(f64::NAN).is_nan());
    }

    #[test]
    fn erf_matches_known_values() {
        assert_relative_eq!(
            erf(0.1),
            0.112_462_916_018_284_898_404_712_251_014,
            max_relative = 2e-15
        );
        assert_relative_eq!(
            erf(1.0),
            0.842_700_792_949_714_869_341_220_635_083,
            max_relative = 2e-15
        );
        assert_relative_eq!(
            erf(-0.5),
            -0.520_499_877_813_046_537_682_746_653_892,
            max_relative = 2e-15
        );
        assert_eq!(erf(0.0), 0.0);
    }

    #[test]
    fn normal_quantiles_give_the_analysts_thresholds() {
        // Two-sided critical values of the 90, 95 and 99 % levels.
        assert_relative_eq!(
            two_sided_p(1.644_853_626_951_472_2),
            0.10,
            max_relative = 1e-14
        );
        assert_relative_eq!(
            two_sided_p(-1.959_963_984_540_054),
            0.05,
            max_relative = 1e-14
        );
        assert_relative_eq!(
            two_sided_p(2.575_829_303_548_900_4),
            0.01,
            max_relative = 1e-14
        );
        assert_relative_eq!(
            normal_cdf(1.959_963_984_540_054),
            0.975,
            max_relative = 1e-15
        );
        assert_eq!(normal_cdf(0.0), 0.5);
        // Far tail: 1 - cdf would be 0; the survival function is not.
        assert_relative_eq!(
            normal_sf(10.0),
            7.619_853_024_160_526_066e-24,
            max_relative = 1e-14
        );
    }

    #[test]
    fn erfc_is_continuous_at_the_interval_joins_and_monotone() {
        for x in [THRESH, 4.0] {
            let (a, b) = (erfc(x - 1e-12), erfc(x + 1e-12));
            assert_relative_eq!(a, b, max_relative = 1e-11);
        }
        let mut last = 2.0;
        for k in -6000..6000 {
            let v = erfc(k as f64 / 1000.0);
            assert!(v <= last, "{k}");
            last = v;
        }
    }
}
