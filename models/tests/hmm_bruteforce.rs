//! Every algorithm against brute-force enumeration of all K^T hidden paths (K = 3, T ≤ 7),
//! including zero probabilities and the gradient by every route.

use crate::hmm_common;

use hmm_common::*;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use trellis_ad::{forward, reverse};
use trellis_models::hmm::{self, HmmParams, Sequences};

const K: usize = 3;

struct Case {
    li: Vec<f64>,
    lt: Vec<f64>,
    le: Vec<f64>,
}

impl Case {
    fn flat(&self) -> Vec<f64> {
        let mut x = self.li.clone();
        x.extend(&self.lt);
        x.extend(&self.le);
        x
    }
    fn n(&self) -> usize {
        self.le.len() / K
    }
}

fn normalised_logs(rng: &mut impl Rng, n: usize, zeros: &[usize]) -> Vec<f64> {
    let mut p: Vec<f64> = (0..n).map(|_| rng.random::<f64>() + 0.05).collect();
    for &z in zeros {
        p[z] = 0.0;
    }
    let s: f64 = p.iter().sum();
    p.iter().map(|x| (x / s).ln()).collect()
}

/// Random cases: normalised, with zero probabilities, and with free (unnormalised)
/// log-probabilities.
fn cases() -> Vec<Case> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(20240611);
    let mut out = Vec::new();
    for n in 1..=7 {
        for variant in 0..3 {
            let (li, lt) = match variant {
                0 => {
                    let li = normalised_logs(&mut rng, K, &[]);
                    let mut lt = Vec::new();
                    for _ in 0..K {
                        lt.extend(normalised_logs(&mut rng, K, &[]));
                    }
                    (li, lt)
                }
                1 => {
                    let li = normalised_logs(&mut rng, K, &[2]);
                    let mut lt = Vec::new();
                    lt.extend(normalised_logs(&mut rng, K, &[2]));
                    lt.extend(normalised_logs(&mut rng, K, &[0]));
                    lt.extend(normalised_logs(&mut rng, K, &[]));
                    (li, lt)
                }
                _ => (
                    (0..K).map(|_| rng.random_range(-2.0..1.0)).collect(),
                    (0..K * K).map(|_| rng.random_range(-2.0..1.0)).collect(),
                ),
            };
            let mut le: Vec<f64> = (0..n * K).map(|_| rng.random_range(-6.0..2.0)).collect();
            if variant == 1 {
                // An impossible emission in some states (not all) at some steps.
                for t in (0..n).step_by(2) {
                    le[t * K + (t % K)] = f64::NEG_INFINITY;
                }
            }
            out.push(Case { li, lt, le });
        }
    }
    out
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a == b) || (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn log_likelihood_matches_enumeration() {
    for (c, case) in cases().iter().enumerate() {
        let brute = brute_log_likelihood(&case.li, &case.lt, &case.le, K);
        let fused: f64 = hmm::forward_log_likelihood(&case.li, &case.lt, &case.le, K).unwrap();
        let generic: f64 =
            hmm::forward_log_likelihood_generic(&case.li, &case.lt, &case.le, K).unwrap();
        let log_space: f64 =
            hmm::forward_log_likelihood_log_space(&case.li, &case.lt, &case.le, K).unwrap();
        assert!(brute.is_finite());
        for v in [fused, generic, log_space] {
            assert!(close(v, brute, 1e-13), "case {c}: {v} vs {brute}");
        }
    }
}

#[test]
fn gradient_matches_enumeration_by_every_route() {
    for (c, case) in cases().iter().enumerate() {
        let x = case.flat();
        let (brute_v, brute_g) = forward::value_and_gradient(&Brute { k: K }, &x);
        assert!(brute_g.iter().all(|g| g.is_finite()));
        let routes = [
            (
                "reverse fused",
                reverse::value_and_gradient(
                    &Flat {
                        k: K,
                        core: Core::Dispatch,
                    },
                    &x,
                ),
            ),
            (
                "reverse generic",
                reverse::value_and_gradient(
                    &Flat {
                        k: K,
                        core: Core::Generic,
                    },
                    &x,
                ),
            ),
            (
                "reverse log-space",
                reverse::value_and_gradient(
                    &Flat {
                        k: K,
                        core: Core::LogSpace,
                    },
                    &x,
                ),
            ),
            (
                "forward",
                forward::value_and_gradient(
                    &Flat {
                        k: K,
                        core: Core::Dispatch,
                    },
                    &x,
                ),
            ),
            (
                "forward log-space",
                forward::value_and_gradient(
                    &Flat {
                        k: K,
                        core: Core::LogSpace,
                    },
                    &x,
                ),
            ),
        ];
        for (name, (v, g)) in routes {
            assert!(
                close(v, brute_v, 1e-13),
                "case {c} {name}: {v} vs {brute_v}"
            );
            for (i, (a, b)) in g.iter().zip(&brute_g).enumerate() {
                assert!(a.is_finite(), "case {c} {name}: partial {i} is {a}");
                assert!(
                    close(*a, *b, 1e-11),
                    "case {c} {name}: partial {i}: {a} vs {b}"
                );
            }
        }
        // Zero-probability inputs get zero partials.
        for (i, xi) in x.iter().enumerate() {
            if *xi == f64::NEG_INFINITY {
                assert_eq!(brute_g[i], 0.0);
            }
        }
    }
}

fn params(case: &Case) -> HmmParams {
    HmmParams::from_log_probabilities(&case.li, &case.lt).unwrap()
}

fn table(case: &Case) -> (Table, Vec<usize>) {
    (
        Table {
            k: K,
            le: case.le.clone(),
        },
        (0..case.n()).collect(),
    )
}

/// Normalised cases only (the inference API takes stochastic parameters).
fn stochastic_cases() -> Vec<Case> {
    cases()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 2)
        .map(|(_, c)| c)
        .collect()
}

#[test]
fn filtered_probabilities_match_enumeration() {
    for case in stochastic_cases() {
        let (emission, seq) = table(&case);
        let filtered = hmm::filter(&params(&case), &emission, &seq).unwrap();
        for t in 0..case.n() {
            let mut w = [0.0; K];
            for_each_path(K, t + 1, |z| {
                w[z[t]] += path_log_prob(&case.li, &case.lt, &case.le, K, z).exp();
            });
            let total: f64 = w.iter().sum();
            for k in 0..K {
                let f = filtered[[t, k]];
                assert!(
                    (f - w[k] / total).abs() < 1e-13,
                    "t {t} k {k}: {f} vs {}",
                    w[k] / total
                );
            }
        }
    }
}

#[test]
fn smoothed_probabilities_and_viterbi_match_enumeration() {
    for case in stochastic_cases() {
        let n = case.n();
        let (emission, seq) = table(&case);
        let p = params(&case);
        let post = hmm::posterior(&p, &emission, &seq).unwrap();
        let mut w = vec![0.0; n * K];
        let mut total = 0.0;
        let mut best = (f64::NEG_INFINITY, vec![]);
        for_each_path(K, n, |z| {
            let lp = path_log_prob(&case.li, &case.lt, &case.le, K, z);
            let pz = lp.exp();
            total += pz;
            for t in 0..n {
                w[t * K + z[t]] += pz;
            }
            if lp > best.0 {
                best = (lp, z.to_vec());
            }
        });
        for t in 0..n {
            for k in 0..K {
                let s = post.smoothed[[t, k]];
                assert!((s - w[t * K + k] / total).abs() < 1e-13, "t {t} k {k}");
            }
        }
        assert!((post.log_likelihood - total.ln()).abs() < 1e-12);
        let smoothed = hmm::smooth(&p, &emission, &seq).unwrap();
        assert_eq!(smoothed, post.smoothed);
        let path = hmm::viterbi(&p, &emission, &seq).unwrap();
        assert_eq!(path.states, best.1);
        assert!((path.log_probability - best.0).abs() < 1e-12);
        // The smoothed marginals are the fused kernel's emission partials.
        let (_, g) = reverse::value_and_gradient(
            &Flat {
                k: K,
                core: Core::Dispatch,
            },
            &case.flat(),
        );
        for (a, b) in g[K + K * K..].iter().zip(post.smoothed.iter()) {
            assert!((a - b).abs() < 1e-13);
        }
    }
}

#[test]
fn posterior_path_samples_follow_the_enumerated_posterior() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let draws = 40_000;
    for case in stochastic_cases()
        .into_iter()
        .filter(|c| (3..=5).contains(&c.n()))
    {
        let n = case.n();
        let (emission, seq) = table(&case);
        let samples = hmm::sample_paths(&params(&case), &emission, &seq, draws, &mut rng).unwrap();
        let index = |z: &[usize]| z.iter().fold(0, |acc, &s| acc * K + s);
        let mut counts = vec![0usize; K.pow(n as u32)];
        for row in samples.rows() {
            counts[index(&row.to_vec())] += 1;
        }
        let mut probs = vec![0.0; K.pow(n as u32)];
        let mut total = 0.0;
        for_each_path(K, n, |z| {
            let pz = path_log_prob(&case.li, &case.lt, &case.le, K, z).exp();
            probs[index(z)] = pz;
            total += pz;
        });
        for (c, p) in counts.iter().zip(&probs) {
            let p = p / total;
            let f = *c as f64 / draws as f64;
            if p == 0.0 {
                assert_eq!(*c, 0, "an impossible path was sampled");
            } else {
                let sd = (p * (1.0 - p) / draws as f64).sqrt();
                assert!((f - p).abs() < 5.0 * sd + 1e-4, "path freq {f} vs prob {p}");
            }
        }
        let one = hmm::sample_path(&params(&case), &emission, &seq, &mut rng).unwrap();
        assert_eq!(one.len(), n);
        assert!(probs[index(&one)] > 0.0);
    }
}

#[test]
fn per_sequence_log_likelihoods_of_a_ragged_batch() {
    let cases = stochastic_cases();
    let case = cases.iter().find(|c| c.n() == 7).unwrap();
    let (emission, _) = table(case);
    // Sequences index rows of the table: ragged, of lengths 1..=7.
    let seqs: Vec<Vec<usize>> = (1..=7).map(|len| (0..len).rev().collect()).collect();
    let data = Sequences::new(seqs.clone()).unwrap();
    let lls = hmm::sequence_log_likelihoods(&params(case), &emission, &data).unwrap();
    for (s, seq) in seqs.iter().enumerate() {
        let le: Vec<f64> = seq
            .iter()
            .flat_map(|&r| case.le[r * K..(r + 1) * K].to_vec())
            .collect();
        let brute = brute_log_likelihood(&case.li, &case.lt, &le, K);
        assert!(close(lls[s], brute, 1e-13), "sequence {s}");
    }
    let total: f64 = hmm::batch_log_likelihood(&case.li, &case.lt, &emission, &data).unwrap();
    assert_eq!(total, lls.iter().sum::<f64>());
}

#[test]
fn simulated_states_follow_the_chain() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let p = HmmParams::from_probabilities(
        &[1.0, 0.0, 0.0],
        &[0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0],
    )
    .unwrap();
    assert_eq!(
        hmm::simulate_states(&p, 7, &mut rng),
        vec![0, 1, 2, 0, 1, 2, 0]
    );
}
