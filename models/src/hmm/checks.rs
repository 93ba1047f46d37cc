//! The input checks of the forward algorithm: shapes, and values that no recursion may see
//! (NaN, `+inf`). Every entry point validates with these before computing anything.

use trellis_ad::Scalar;

use super::error::HmmError;

/// Checks the shapes and the values of the parameters of one evaluation.
pub(crate) fn check_params<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    k: usize,
) -> Result<(), HmmError> {
    check_params_with(log_init, log_trans, k, 1, "log_trans (K × K, row-major)")
}

/// [`check_params`] for `matrices` transition matrices one after another (`what` names
/// the expected shape in the error).
pub(crate) fn check_params_with<T: Scalar>(
    log_init: &[T],
    log_trans: &[T],
    k: usize,
    matrices: usize,
    what: &'static str,
) -> Result<(), HmmError> {
    if k == 0 {
        return Err(HmmError::NoStates);
    }
    if log_init.len() != k {
        return Err(HmmError::WrongLength {
            what: "log_init (one entry per state)",
            expected: k,
            found: log_init.len(),
        });
    }
    if log_trans.len() != matrices * k * k {
        return Err(HmmError::WrongLength {
            what,
            expected: matrices * k * k,
            found: log_trans.len(),
        });
    }
    for (what, xs) in [("log_init", log_init), ("log_trans", log_trans)] {
        for (index, x) in xs.iter().enumerate() {
            let value = x.value();
            if value.is_nan() || value == f64::INFINITY {
                return Err(HmmError::InvalidLogProbability { what, index, value });
            }
        }
    }
    Ok(())
}

/// Checks the shape of a `T × K` emission matrix and that it holds no NaN or `+inf`.
pub(crate) fn check_emission<T: Scalar>(log_emission: &[T], k: usize) -> Result<(), HmmError> {
    if log_emission.is_empty() {
        return Err(HmmError::EmptySequence { sequence: 0 });
    }
    if log_emission.len() % k != 0 {
        return Err(HmmError::WrongLength {
            what: "log_emission (T × K, row-major)",
            expected: (log_emission.len() / k + 1) * k,
            found: log_emission.len(),
        });
    }
    check_emission_values(log_emission.iter().map(|x| x.value()), k)
}

/// [`check_emission_values`] for plain values in a slice: one branch-free pass (a branch per
/// value was about a tenth of a reference gradient), the first bad value looked for only
/// when there is one.
pub(crate) fn check_plain_emission(values: &[f64], k: usize) -> Result<(), HmmError> {
    #[cfg(target_arch = "x86_64")]
    let ok = if super::lanes::available() {
        // SAFETY: `available()` checked that this CPU has AVX2 (and FMA), the only
        // requirement of this `#[target_feature]` function, which reads `values` as a slice.
        unsafe { all_below_infinity_avx2(values) }
    } else {
        all_below_infinity(values)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let ok = all_below_infinity(values);
    if ok {
        Ok(())
    } else {
        check_emission_values(values.iter().copied(), k)
    }
}

/// Whether no value is NaN or `+inf` (`v < +inf` is false exactly for those), folded without
/// a branch per value.
#[inline(always)]
fn all_below_infinity(values: &[f64]) -> bool {
    values
        .chunks(256)
        .all(|chunk| chunk.iter().fold(true, |ok, &v| ok & (v < f64::INFINITY)))
}

/// [`all_below_infinity`] compiled for AVX2: four comparisons an instruction instead of two.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn all_below_infinity_avx2(values: &[f64]) -> bool {
    all_below_infinity(values)
}

/// Checks plain emission log-densities (`T × K`, row-major) for NaN and `+inf`.
#[inline]
pub(crate) fn check_emission_values(
    values: impl Iterator<Item = f64>,
    k: usize,
) -> Result<(), HmmError> {
    for (i, value) in values.enumerate() {
        if value.is_nan() || value == f64::INFINITY {
            return Err(HmmError::InvalidLogDensity {
                sequence: 0,
                position: i / k,
                state: i % k,
                value,
            });
        }
    }
    Ok(())
}
