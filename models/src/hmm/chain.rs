//! The Markov chain of one sequence, as the inference routines take it: the initial
//! log-probabilities and one transition matrix for every step, or one per step
//! (covariate-driven transitions).

use super::checks::check_params_with;
use super::error::HmmError;
use super::forward::Transitions;
use super::inference::HmmParams;

/// The chain of one sequence: `ln p(z₁)` and `ln Γ` (one `K × K` matrix, or `T − 1` of them,
/// the step from `t` at `t · K²`). Built from a validated [`HmmParams`] (`&params` converts)
/// or with [`SequenceChain::new`]; the number of per-step matrices is checked against the
/// sequence when used.
///
/// ```
/// use trellis_models::hmm::{self, HmmParams, SequenceChain, Transitions};
/// use trellis_models::zoo::Gaussian;
/// let (means, sds) = ([0.0, 3.0], [1.0, 1.0]);
/// let emission = Gaussian::new(&means, &sds)?;
/// let li = [0.5f64.ln(); 2];
/// // Step 0 → 1 sticky, step 1 → 2 certain to switch.
/// let p = [0.9, 0.1, 0.1, 0.9, 0.0, 1.0, 1.0, 0.0];
/// let lt: Vec<f64> = p.iter().map(|x: &f64| x.ln()).collect();
/// let chain = SequenceChain::new(&li, Transitions::PerStep(&lt))?;
/// let path = hmm::viterbi(chain, &emission, &[0.1, 0.2, 0.3])?;
/// assert_eq!(path.states, [0, 0, 1]);
/// // A homogeneous chain from HmmParams.
/// let params = HmmParams::from_probabilities(&[0.5, 0.5], &[0.9, 0.1, 0.1, 0.9])?;
/// assert_eq!(hmm::viterbi(&params, &emission, &[0.1, 0.2, 0.3])?.states, [0, 0, 0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SequenceChain<'a> {
    pub(crate) k: usize,
    pub(crate) log_init: &'a [f64],
    pub(crate) log_trans: &'a [f64],
    per_step: bool,
}

impl<'a> SequenceChain<'a> {
    /// The chain from `log_init` (`K`) and `transitions`. Log-probabilities need not be
    /// normalised (as for [`forward_log_likelihood`](super::forward_log_likelihood));
    /// `-inf` (probability 0) is allowed.
    ///
    /// # Errors
    /// `K = 0`; a homogeneous matrix that is not `K × K`, or per-step matrices that are not
    /// a whole number of `K × K` matrices; NaN or `+inf` entries.
    pub fn new(log_init: &'a [f64], transitions: Transitions<'a, f64>) -> Result<Self, HmmError> {
        let k = log_init.len();
        let (log_trans, per_step) = match transitions {
            Transitions::Homogeneous(lt) => {
                check_params_with(log_init, lt, k, 1, "log_trans (K × K, row-major)")?;
                (lt, false)
            }
            Transitions::PerStep(lt) => {
                let matrices = if k == 0 { 0 } else { lt.len() / (k * k) };
                check_params_with(
                    log_init,
                    lt,
                    k,
                    matrices,
                    "per-step log_trans ((T − 1) × K × K, row-major)",
                )?;
                (lt, true)
            }
        };
        Ok(Self {
            k,
            log_init,
            log_trans,
            per_step,
        })
    }

    /// Number of states `K`.
    pub fn n_states(&self) -> usize {
        self.k
    }

    /// `ln Γ` of the step into `t` (`t ≥ 1`), `K × K` row-major.
    #[inline]
    pub(crate) fn trans(&self, t: usize) -> &'a [f64] {
        let k2 = self.k * self.k;
        let start = if self.per_step { (t - 1) * k2 } else { 0 };
        &self.log_trans[start..start + k2]
    }

    /// Checks that the chain fits a sequence of `n` steps.
    pub(crate) fn check_len(&self, n: usize) -> Result<(), HmmError> {
        let k2 = self.k * self.k;
        let expected = n.saturating_sub(1) * k2;
        if self.per_step && self.log_trans.len() != expected {
            return Err(HmmError::WrongLength {
                what: "per-step log_trans ((T − 1) × K × K, row-major)",
                expected,
                found: self.log_trans.len(),
            });
        }
        Ok(())
    }
}

impl<'a> From<&'a HmmParams> for SequenceChain<'a> {
    fn from(params: &'a HmmParams) -> Self {
        Self {
            k: params.n_states(),
            log_init: params.log_init(),
            log_trans: params.log_trans(),
            per_step: false,
        }
    }
}
