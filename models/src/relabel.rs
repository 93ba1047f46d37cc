//! Label switching: detecting chains whose hidden states agree with a reference chain only up
//! to a permutation, and relabeling their draws.
//!
//! An HMM's likelihood is unchanged when the states are renamed (the emission parameters of
//! every state, `p_initial_state` and both indices of `p_transition` permuted together), so
//! without an ordering constraint different chains may settle on different labelings. Their
//! pooled draws then mix modes that are the same model: R-hat is large and more draws do not
//! help. [`detect`] compares each chain's posterior means with a reference chain's under every
//! permutation of the states (exactly over all `K!` for `K ≤ 7`, greedy assignment above) and
//! names the chains whose best permutation is not the identity; [`StateParams::permute`]
//! relabels a draw (Stephens 2000, "Dealing with label switching in mixture models", in its
//! simplest, per-chain form: one permutation per chain).

use trellis_samplers::Trace;

use crate::layout::{ParamLayout, Shape};

/// Exact search over all permutations up to this many states (7! = 5 040 candidates).
pub const EXACT_MAX_STATES: usize = 7;

/// A chain is called switched when, at the identity labeling, its means differ from the
/// reference chain's by more than this many within-chain sds (root mean square over the
/// state-indexed values). Chains sampling the same labeling differ by about one Monte Carlo
/// standard error, far below one sd.
pub const SWITCH_THRESHOLD_SD: f64 = 1.0;

/// How a block of the constrained parameter vector is indexed by the hidden state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// `width` values per state, states along the first index (`mu[k]`, `p_emission[k, ·]`,
    /// `p_initial_state[k]`).
    PerState { offset: usize, width: usize },
    /// A `K × K` matrix permuted on both indices (`p_transition[i, j]`).
    Transition { offset: usize },
}

/// Which values of a model's constrained parameter vector belong to which hidden state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateParams {
    states: usize,
    len: usize,
    blocks: Vec<Block>,
}

impl StateParams {
    /// The state-indexed parameters of `layout` for `states` hidden states: `p_transition`
    /// (both indices), and every other parameter whose first dimension is `states` (a vector of
    /// length `K`, or a matrix with `K` rows). Scalars and other shapes are shared by all
    /// states and left alone.
    pub fn from_layout(layout: &ParamLayout, states: usize) -> Self {
        let mut blocks = Vec::new();
        for spec in layout.params() {
            let offset = spec.constrained_offset;
            match spec.shape {
                Shape::Matrix(r, c)
                    if spec.name == "p_transition" && r == states && c == states =>
                {
                    blocks.push(Block::Transition { offset });
                }
                Shape::Vector(n) if n == states => {
                    blocks.push(Block::PerState { offset, width: 1 })
                }
                Shape::Matrix(r, c) if r == states => {
                    blocks.push(Block::PerState { offset, width: c })
                }
                _ => {}
            }
        }
        Self {
            states,
            len: layout.constrained_len(),
            blocks,
        }
    }

    /// Number of hidden states `K`.
    pub fn states(&self) -> usize {
        self.states
    }

    /// Length of the constrained vectors this applies to.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no value is state-indexed (nothing to relabel).
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Writes `values` relabeled by `permutation` into `out`: new state `k` is old state
    /// `permutation[k]` (`out[mu[k]] = values[mu[permutation[k]]]`,
    /// `out[P[i, j]] = values[P[permutation[i], permutation[j]]]`); values not indexed by the
    /// state are copied.
    ///
    /// # Panics
    /// When `values` or `out` is not [`StateParams::len`] long or `permutation` is not a
    /// permutation of `0..K` (a caller's bug).
    pub fn permute(&self, values: &[f64], permutation: &[usize], out: &mut [f64]) {
        assert!(
            values.len() == self.len && out.len() == self.len,
            "StateParams::permute: values ({}) and out ({}) must have the layout's {} values",
            values.len(),
            out.len(),
            self.len
        );
        assert!(
            is_permutation(permutation, self.states),
            "StateParams::permute: {permutation:?} is not a permutation of 0..{}",
            self.states
        );
        out.copy_from_slice(values);
        let k = self.states;
        for block in &self.blocks {
            match *block {
                Block::PerState { offset, width } => {
                    for (new, &old) in permutation.iter().enumerate() {
                        let (to, from) = (offset + new * width, offset + old * width);
                        out[to..to + width].copy_from_slice(&values[from..from + width]);
                    }
                }
                Block::Transition { offset } => {
                    for (i, &pi) in permutation.iter().enumerate() {
                        for (j, &pj) in permutation.iter().enumerate() {
                            out[offset + i * k + j] = values[offset + pi * k + pj];
                        }
                    }
                }
            }
        }
    }

    /// Where each relabeled value comes from: `out[i] = values[sources[i]]` for
    /// [`StateParams::permute`] by `permutation`. Lets a caller move values it holds in
    /// another form (the text fields of a CSV row) without parsing and reprinting them.
    ///
    /// # Panics
    /// As [`StateParams::permute`].
    pub fn sources(&self, permutation: &[usize]) -> Vec<usize> {
        // Permuting the positions themselves (exact in f64 far beyond any layout's length).
        let positions: Vec<f64> = (0..self.len).map(|i| i as f64).collect();
        let mut moved = vec![0.0; self.len];
        self.permute(&positions, permutation, &mut moved);
        moved.into_iter().map(|p| p as usize).collect()
    }

    /// The indices of the state-indexed values (the ones [`detect`] compares).
    fn indexed(&self) -> Vec<usize> {
        let k = self.states;
        let mut indices = Vec::new();
        for block in &self.blocks {
            match *block {
                Block::PerState { offset, width } => indices.extend(offset..offset + k * width),
                Block::Transition { offset } => indices.extend(offset..offset + k * k),
            }
        }
        indices
    }
}

/// Why relabeling by a permutation of states does not apply to the model with `layout` and
/// `states` hidden states, or `None` when it does. It applies when the states differ only by
/// their state-specific parameters, all free: not when a transform orders them (their labels
/// cannot switch), when structural zeros pin states to positions (a permuted draw would break
/// the mask), when covariate coefficients (not permuted here) drive the transitions, or when
/// no emission parameter is state-specific (the model's structure names the states).
pub fn refusal(layout: &ParamLayout, states: usize) -> Option<String> {
    use crate::transforms::Transform;
    let specs = layout.params();
    if let Some(spec) = specs.iter().find(|s| {
        matches!(
            s.transform,
            Transform::Ordered | Transform::PositiveOrdered | Transform::OrderedColumn(_)
        )
    }) {
        return Some(format!(
            "the family orders '{}' across states, so its labels cannot switch: there is \
             nothing to relabel",
            spec.name
        ));
    }
    if let Some(spec) = specs.iter().find(|s| s.mask.is_some()) {
        return Some(format!(
            "'{}' has structural zeros, which tie states to their positions: a relabeled draw \
             would break them",
            spec.name
        ));
    }
    if let Some(spec) = specs.iter().find(|s| matches!(s.shape, Shape::Array3(..))) {
        return Some(format!(
            "covariate-driven transitions ('{}') are not relabeled",
            spec.name
        ));
    }
    let params = StateParams::from_layout(layout, states);
    let emission_specific = specs.iter().any(|s| {
        !matches!(s.name.as_str(), "p_initial_state" | "p_transition")
            && match s.shape {
                Shape::Vector(n) => n == states,
                Shape::Matrix(r, _) => r == states,
                _ => false,
            }
    });
    if params.is_empty() || !emission_specific {
        return Some(
            "no emission parameter is state-specific, so the model itself names the states: \
             there is nothing to relabel"
                .to_string(),
        );
    }
    None
}

fn is_permutation(permutation: &[usize], k: usize) -> bool {
    let mut seen = vec![false; k];
    permutation.len() == k
        && permutation
            .iter()
            .all(|&p| p < k && !std::mem::replace(&mut seen[p], true))
}

/// Per-chain posterior means and sds of the constrained parameters (each [`StateParams::len`]
/// long), the input of [`detect`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChainMoments {
    /// Posterior mean of every constrained value in this chain.
    pub means: Vec<f64>,
    /// Within-chain posterior sd of every constrained value.
    pub sds: Vec<f64>,
}

impl ChainMoments {
    /// Means and sds (population, over draws) of `draws`, one constrained vector per draw.
    ///
    /// # Panics
    /// When the draws differ in length (a caller's bug).
    pub fn from_draws<'a>(draws: impl IntoIterator<Item = &'a [f64]>) -> Self {
        let mut n = 0usize;
        let mut sum: Vec<f64> = Vec::new();
        let mut sum_sq: Vec<f64> = Vec::new();
        let rows: Vec<&[f64]> = draws.into_iter().collect();
        for row in &rows {
            if n == 0 {
                sum = vec![0.0; row.len()];
            }
            assert_eq!(row.len(), sum.len(), "ChainMoments: draws differ in length");
            for (s, &v) in sum.iter_mut().zip(row.iter()) {
                *s += v;
            }
            n += 1;
        }
        let nf = n.max(1) as f64;
        let means: Vec<f64> = sum.iter().map(|s| s / nf).collect();
        // Two passes: the variance from deviations, free of the cancellation of Σx² − n·x̄².
        sum_sq.resize(means.len(), 0.0);
        for row in &rows {
            for ((s, &v), &m) in sum_sq.iter_mut().zip(row.iter()).zip(&means) {
                *s += (v - m) * (v - m);
            }
        }
        let sds = sum_sq.iter().map(|s| (s / nf).sqrt()).collect();
        Self { means, sds }
    }
}

/// One chain's labeling relative to the reference chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainLabeling {
    /// 0-based chain index.
    pub chain: usize,
    /// The best permutation: relabeled state `k` is this chain's state `permutation[k]`.
    pub permutation: Vec<usize>,
    /// Root-mean-square difference to the reference means at the identity labeling, in
    /// within-chain sds.
    pub identity_distance: f64,
    /// The same under the best permutation.
    pub best_distance: f64,
    /// The best permutation is not the identity and the identity distance exceeds
    /// [`SWITCH_THRESHOLD_SD`]: this chain's states carry other labels than the reference's.
    pub switched: bool,
}

/// The result of [`detect`]: every chain's labeling relative to the reference chain.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSwitching {
    /// The reference chain (0-based).
    pub reference: usize,
    /// One entry per chain, in chain order (the reference's is the identity).
    pub chains: Vec<ChainLabeling>,
}

impl LabelSwitching {
    /// The chains (0-based) whose labeling differs from the reference chain's.
    pub fn switched_chains(&self) -> Vec<usize> {
        self.chains
            .iter()
            .filter(|c| c.switched)
            .map(|c| c.chain)
            .collect()
    }

    /// True when any chain is switched.
    pub fn any(&self) -> bool {
        self.chains.iter().any(|c| c.switched)
    }

    /// Every chain's best permutation (the reference's and unswitched chains' included).
    pub fn permutations(&self) -> Vec<Vec<usize>> {
        self.chains.iter().map(|c| c.permutation.clone()).collect()
    }

    /// The warning to print, naming the switched chains (1-based, as chain files are
    /// numbered) and the fixes that exist; `None` when no chain is switched.
    pub fn warning(&self) -> Option<String> {
        let switched = self.switched_chains();
        if switched.is_empty() {
            return None;
        }
        let reference = self.reference + 1;
        let names: Vec<String> = switched
            .iter()
            .map(|&c| {
                // States 0-based, as in parameter names (mu[0]); chains 1-based, as in files.
                let p = &self.chains[c].permutation;
                let theirs: Vec<String> = p.iter().map(usize::to_string).collect();
                let ours: Vec<String> = (0..p.len()).map(|s| s.to_string()).collect();
                format!(
                    "chain {}'s states {} are chain {reference}'s states {}",
                    c + 1,
                    theirs.join(", "),
                    ours.join(", ")
                )
            })
            .collect();
        Some(format!(
            "label switching: {}. The chains found the same states under other labels, so \
             R-hat and ESS of the state-specific parameters mix labelings and more draws will \
             not help. Fixes: a family with ordered parameters, a different --seed, priors \
             that tell the states apart, or relabeling each chain by the permutation above \
             (trellis_models::relabel).",
            names.join("; ")
        ))
    }
}

/// Finds, for each chain, the permutation of states that brings its posterior means closest
/// to those of chain `reference` (distance: root mean square over the state-indexed values
/// of the differences in within-chain sds, the sd of each value the root mean square of the
/// two chains'), and flags chains whose best permutation is not the identity while their
/// identity distance exceeds [`SWITCH_THRESHOLD_SD`].
///
/// # Panics
/// When `reference` is not a chain or the moments are not [`StateParams::len`] long (a
/// caller's bug).
pub fn detect(params: &StateParams, chains: &[ChainMoments], reference: usize) -> LabelSwitching {
    assert!(
        reference < chains.len(),
        "relabel::detect: reference chain {reference} of {} chains",
        chains.len()
    );
    for c in chains {
        assert!(
            c.means.len() == params.len && c.sds.len() == params.len,
            "relabel::detect: moments must have the layout's {} values",
            params.len
        );
    }
    let k = params.states;
    let identity: Vec<usize> = (0..k).collect();
    let indexed = params.indexed();
    let reference_moments = &chains[reference];
    let mut permuted_means = vec![0.0; params.len];
    let mut permuted_sds = vec![0.0; params.len];
    let mut distance = |moments: &ChainMoments, permutation: &[usize]| -> f64 {
        params.permute(&moments.means, permutation, &mut permuted_means);
        params.permute(&moments.sds, permutation, &mut permuted_sds);
        let mut total = 0.0;
        for &i in &indexed {
            let scale = (0.5 * (reference_moments.sds[i].powi(2) + permuted_sds[i].powi(2)))
                .sqrt()
                .max(f64::MIN_POSITIVE);
            let z = (permuted_means[i] - reference_moments.means[i]) / scale;
            total += z * z;
        }
        (total / indexed.len().max(1) as f64).sqrt()
    };
    let labelings = chains
        .iter()
        .enumerate()
        .map(|(chain, moments)| {
            let identity_distance = distance(moments, &identity);
            let (permutation, best_distance) = if k <= EXACT_MAX_STATES {
                let mut best = (identity.clone(), identity_distance);
                for_each_permutation(k, |p| {
                    let d = distance(moments, p);
                    // Strictly better only: ties keep the identity (or the first found).
                    if d < best.1 {
                        best = (p.to_vec(), d);
                    }
                });
                best
            } else {
                let p = greedy_assignment(params, reference_moments, moments);
                let d = distance(moments, &p);
                if d < identity_distance {
                    (p, d)
                } else {
                    (identity.clone(), identity_distance)
                }
            };
            ChainLabeling {
                chain,
                switched: permutation != identity && identity_distance > SWITCH_THRESHOLD_SD,
                permutation,
                identity_distance,
                best_distance,
            }
        })
        .collect();
    LabelSwitching {
        reference,
        chains: labelings,
    }
}

/// The constrained parameters of every post-warm-up draw of `trace`, one vector per draw,
/// one list per chain; `columns` are the trace's columns of the parameters in layout order
/// ([`crate::pointwise::parameter_columns`]).
pub fn constrained_draws(trace: &Trace, columns: &[usize]) -> Vec<Vec<Vec<f64>>> {
    trace
        .chains
        .iter()
        .map(|chain| {
            (0..chain.draws.len())
                .map(|d| {
                    let row = chain.draws.draw(d);
                    columns.iter().map(|&j| row[j]).collect()
                })
                .collect()
        })
        .collect()
}

/// [`detect`] on draws as [`constrained_draws`] gives them, chain 0 the reference.
///
/// # Panics
/// With no chains, or draws that are not [`StateParams::len`] long (a caller's bug).
pub fn detect_in_draws(params: &StateParams, draws: &[Vec<Vec<f64>>]) -> LabelSwitching {
    let moments: Vec<ChainMoments> = draws
        .iter()
        .map(|chain| ChainMoments::from_draws(chain.iter().map(Vec::as_slice)))
        .collect();
    detect(params, &moments, 0)
}

/// [`detect`] on the post-warm-up draws of `trace` for the model with `layout` and `states`
/// hidden states, chain 0 the reference; `None` with fewer than two chains, no state-indexed
/// parameters, or a trace that lacks one of the layout's parameters.
pub fn detect_in_trace(
    layout: &ParamLayout,
    states: usize,
    trace: &Trace,
) -> Option<LabelSwitching> {
    let params = StateParams::from_layout(layout, states);
    if trace.num_chains() < 2 || params.is_empty() {
        return None;
    }
    let columns = crate::pointwise::parameter_columns(layout, trace).ok()?;
    Some(detect_in_draws(
        &params,
        &constrained_draws(trace, &columns),
    ))
}

/// Relabels every draw of chain `c` by `permutations[c]` ([`StateParams::permute`]).
///
/// # Panics
/// When there is not one permutation per chain, or as [`StateParams::permute`].
pub fn relabel(params: &StateParams, draws: &mut [Vec<Vec<f64>>], permutations: &[Vec<usize>]) {
    assert_eq!(
        draws.len(),
        permutations.len(),
        "relabel: one permutation per chain"
    );
    let mut buffer = vec![0.0; params.len];
    for (chain, permutation) in draws.iter_mut().zip(permutations) {
        for draw in chain.iter_mut() {
            params.permute(draw, permutation, &mut buffer);
            draw.copy_from_slice(&buffer);
        }
    }
}

/// Calls `f` with every permutation of `0..k` (Heap's algorithm, iterative).
fn for_each_permutation(k: usize, mut f: impl FnMut(&[usize])) {
    let mut p: Vec<usize> = (0..k).collect();
    let mut c = vec![0usize; k];
    f(&p);
    let mut i = 0;
    while i < k {
        if c[i] < i {
            if i % 2 == 0 {
                p.swap(0, i);
            } else {
                p.swap(c[i], i);
            }
            f(&p);
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
}

/// For many states: assigns reference states to chain states greedily by the per-state cost
/// (squared standardised differences of the per-state values and the diagonal of
/// `p_transition`), cheapest pair first.
fn greedy_assignment(
    params: &StateParams,
    reference: &ChainMoments,
    chain: &ChainMoments,
) -> Vec<usize> {
    let k = params.states;
    let mut cost = vec![0.0; k * k];
    for (r, row) in cost.chunks_exact_mut(k).enumerate() {
        for (s, entry) in row.iter_mut().enumerate() {
            let mut add = |a: usize, b: usize| {
                let scale = (0.5 * (reference.sds[a].powi(2) + chain.sds[b].powi(2)))
                    .sqrt()
                    .max(f64::MIN_POSITIVE);
                let z = (reference.means[a] - chain.means[b]) / scale;
                *entry += z * z;
            };
            for block in &params.blocks {
                match *block {
                    Block::PerState { offset, width } => {
                        for w in 0..width {
                            add(offset + r * width + w, offset + s * width + w);
                        }
                    }
                    Block::Transition { offset } => add(offset + r * k + r, offset + s * k + s),
                }
            }
        }
    }
    let mut pairs: Vec<(usize, usize)> = (0..k).flat_map(|r| (0..k).map(move |s| (r, s))).collect();
    pairs.sort_by(|a, b| cost[a.0 * k + a.1].total_cmp(&cost[b.0 * k + b.1]));
    let mut permutation = vec![usize::MAX; k];
    let mut used = vec![false; k];
    for (r, s) in pairs {
        if permutation[r] == usize::MAX && !used[s] {
            permutation[r] = s;
            used[s] = true;
        }
    }
    permutation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heaps_algorithm_visits_every_permutation_once() {
        for k in 1..=5 {
            let mut seen = std::collections::HashSet::new();
            for_each_permutation(k, |p| {
                assert!(is_permutation(p, k));
                assert!(seen.insert(p.to_vec()), "{p:?} twice");
            });
            assert_eq!(seen.len(), (1..=k).product::<usize>());
        }
    }
}
