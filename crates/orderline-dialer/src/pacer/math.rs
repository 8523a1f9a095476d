//! The probability the pacer needs: the expected number of answered
//! customers who find no free agent, E[(X − Y)⁺], where X (live answers) and
//! Y (free agents) are sums of independent Bernoulli variables.
//!
//! Small teams get the exact Poisson-binomial distribution (a normal
//! approximation is poor with a handful of agents, which is exactly where
//! over-dialling hurts most); large teams get the normal approximation,
//! which is accurate there and O(1) per candidate N.

/// Standard normal density.
fn pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal CDF via erfc (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
fn cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-x * x).exp();
    if z >= 0.0 {
        1.0 - 0.5 * erfc
    } else {
        0.5 * erfc
    }
}

/// E[D⁺] for D ~ Normal(mean, var): σ·φ(μ/σ) + μ·Φ(μ/σ). The variance gets
/// 1/12 added (the spread of rounding an integer count to a continuum), so
/// a deterministic D still behaves sensibly.
pub fn expected_positive_normal(mean: f64, var: f64) -> f64 {
    let sd = (var.max(0.0) + 1.0 / 12.0).sqrt();
    let z = mean / sd;
    sd * pdf(z) + mean * cdf(z)
}

/// The distribution of a sum of independent Bernoulli(pᵢ) (Poisson-binomial),
/// by dynamic programming: O(n²), for small n.
pub fn poisson_binomial(probs: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut pmf = vec![1.0];
    for p in probs {
        add_bernoulli(&mut pmf, p);
    }
    pmf
}

/// Convolve one more Bernoulli(p) into `pmf` in place.
pub fn add_bernoulli(pmf: &mut Vec<f64>, p: f64) {
    let p = p.clamp(0.0, 1.0);
    pmf.push(0.0);
    for k in (1..pmf.len()).rev() {
        pmf[k] = pmf[k] * (1.0 - p) + pmf[k - 1] * p;
    }
    pmf[0] *= 1.0 - p;
}

/// G(x) = E[(x − Y)⁺] for x = 0..=max_x, given Y's distribution, in
/// O(max_x + |Y|) by G(0) = 0 and G(x + 1) = G(x) + P(Y ≤ x) (one more
/// customer is one more short exactly when at most x agents are free). The
/// pacer builds one table per horizon every decision; the direct double sum
/// was most of the simulator's time.
pub fn shortfall_table(y_pmf: &[f64], max_x: usize) -> Vec<f64> {
    let mut g = Vec::with_capacity(max_x + 1);
    let (mut acc, mut cdf) = (0.0, 0.0);
    for x in 0..=max_x {
        g.push(acc);
        cdf += y_pmf.get(x).copied().unwrap_or(0.0);
        acc += cdf;
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_known_points() {
        assert!((cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((cdf(-1.96) - 0.025).abs() < 1e-4);
    }

    #[test]
    fn expected_positive_limits() {
        // Far below zero: nothing; far above: the mean.
        assert!(expected_positive_normal(-20.0, 4.0) < 1e-9);
        assert!((expected_positive_normal(20.0, 4.0) - 20.0).abs() < 1e-6);
    }

    #[test]
    fn poisson_binomial_sums_to_one_and_matches_binomial() {
        let pmf = poisson_binomial([0.5, 0.5]);
        assert_eq!(pmf.len(), 3);
        assert!((pmf[1] - 0.5).abs() < 1e-12);
        assert!((pmf.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Two free agents, three certain answers: one short for sure.
        let g = shortfall_table(&poisson_binomial([1.0, 1.0]), 3);
        assert!((g[3] - 1.0).abs() < 1e-12 && g[2].abs() < 1e-12);
        // The recursion agrees with the definition, E[(x − Y)⁺] summed
        // directly, on an uneven Y.
        let y = poisson_binomial([0.2, 0.7, 0.9, 0.5]);
        let g = shortfall_table(&y, 8);
        for (x, gx) in g.iter().enumerate() {
            let direct: f64 = y
                .iter()
                .enumerate()
                .map(|(k, p)| p * (x as f64 - k as f64).max(0.0))
                .sum();
            assert!((gx - direct).abs() < 1e-12, "x {x}: {gx} vs {direct}");
        }
    }
}
