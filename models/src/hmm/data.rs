//! Batches of ragged observation sequences, and the built-in seed data set.

use std::ops::Index;

use ndarray::ArrayView2;

use super::error::HmmError;

/// An observation type whose values can be checked when a data set is built.
///
/// Real-valued observations must be finite; discrete ones are accepted as they are here (an
/// emission family checks its own support, e.g. a category `< n_categories`, and reports
/// [`HmmError::InvalidObservation`]). Implement it for your own observation types.
pub trait Observation {
    /// `Ok(())` if the observation can be used; otherwise the error, naming `sequence`,
    /// `position` and the value.
    fn check(&self, sequence: usize, position: usize) -> Result<(), HmmError>;
}

fn finite(value: f64, sequence: usize, position: usize) -> Result<(), HmmError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(HmmError::NonFinite {
            sequence,
            position,
            value,
        })
    }
}

impl Observation for f64 {
    #[inline]
    fn check(&self, sequence: usize, position: usize) -> Result<(), HmmError> {
        finite(*self, sequence, position)
    }
}

impl Observation for f32 {
    #[inline]
    fn check(&self, sequence: usize, position: usize) -> Result<(), HmmError> {
        finite(f64::from(*self), sequence, position)
    }
}

macro_rules! always_valid {
    ($($t:ty),*) => {$(
        impl Observation for $t {
            #[inline]
            fn check(&self, _sequence: usize, _position: usize) -> Result<(), HmmError> {
                Ok(())
            }
        }
    )*};
}
always_valid!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, bool);

impl<const N: usize> Observation for [f64; N] {
    fn check(&self, sequence: usize, position: usize) -> Result<(), HmmError> {
        self.iter().try_for_each(|&v| finite(v, sequence, position))
    }
}

/// A NaN component is a missing coordinate (marginalised by the diagonal-Gaussian family,
/// [`DiagonalMvn`](crate::zoo::DiagonalMvn)); infinite components are errors.
impl Observation for Vec<f64> {
    fn check(&self, sequence: usize, position: usize) -> Result<(), HmmError> {
        self.iter()
            .filter(|v| !v.is_nan())
            .try_for_each(|&v| finite(v, sequence, position))
    }
}

/// `None` is a missing observation; the emission decides what it means (usually density 1).
impl<O: Observation> Observation for Option<O> {
    fn check(&self, sequence: usize, position: usize) -> Result<(), HmmError> {
        match self {
            Some(o) => o.check(sequence, position),
            None => Ok(()),
        }
    }
}

impl<A: Observation, B: Observation> Observation for (A, B) {
    fn check(&self, sequence: usize, position: usize) -> Result<(), HmmError> {
        self.0.check(sequence, position)?;
        self.1.check(sequence, position)
    }
}

/// A batch of independent observation sequences of possibly different lengths, stored flat.
///
/// Built only through validating constructors: there is at least one sequence, every
/// sequence has at least one observation and every observation passed
/// [`Observation::check`].
///
/// ```
/// use trellis_models::hmm::Sequences;
/// let data = Sequences::new(vec![vec![0.1, 0.4, 2.0], vec![1.5]]).unwrap();
/// assert_eq!(data.len(), 2);
/// assert_eq!(&data[1], &[1.5]);
/// assert_eq!(data.total_len(), 4);
/// let err = Sequences::new(vec![vec![0.1], vec![0.2, f64::NAN]]).unwrap_err();
/// assert_eq!(err.to_string(), "observation 1 of sequence 1 is NaN, not a finite number");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sequences<O> {
    data: Vec<O>,
    /// `offsets[i]..offsets[i + 1]` is sequence `i`; `offsets[0] == 0`.
    offsets: Vec<usize>,
    /// One flag per observation (flat order), `true` = missing; `None` when none is.
    missing: Option<Vec<bool>>,
}

impl<O: Observation> Sequences<O> {
    /// A batch from an iterator of sequences.
    pub fn new<I, S>(sequences: I) -> Result<Self, HmmError>
    where
        I: IntoIterator<Item = S>,
        S: IntoIterator<Item = O>,
    {
        let mut data = Vec::new();
        let mut offsets = vec![0];
        for seq in sequences {
            data.extend(seq);
            offsets.push(data.len());
        }
        Self::validated(data, offsets)
    }

    /// A batch of one sequence.
    pub fn single(sequence: Vec<O>) -> Result<Self, HmmError> {
        let n = sequence.len();
        Self::validated(sequence, vec![0, n])
    }

    /// A batch from all observations laid end to end and the length of each sequence.
    pub fn from_flat(data: Vec<O>, lengths: &[usize]) -> Result<Self, HmmError> {
        // A sum past usize::MAX cannot match any vector's length: report it as that sum,
        // saturated, rather than letting it wrap around to a length that might match.
        let total = lengths
            .iter()
            .try_fold(0usize, |sum, &n| sum.checked_add(n));
        if total != Some(data.len()) {
            return Err(HmmError::WrongLength {
                what: match total {
                    Some(_) => "flat observations (sum of the sequence lengths)",
                    None => "flat observations (sum of the sequence lengths, past usize::MAX)",
                },
                expected: total.unwrap_or(usize::MAX),
                found: data.len(),
            });
        }
        let mut offsets = Vec::with_capacity(lengths.len() + 1);
        offsets.push(0);
        let mut end = 0;
        for &len in lengths {
            end += len;
            offsets.push(end);
        }
        Self::validated(data, offsets)
    }

    /// A batch of equally long sequences from the rows of a matrix.
    pub fn from_rows(rows: ArrayView2<'_, O>) -> Result<Self, HmmError>
    where
        O: Clone,
    {
        Self::new(rows.rows().into_iter().map(|r| r.to_vec()))
    }

    fn validated(data: Vec<O>, offsets: Vec<usize>) -> Result<Self, HmmError> {
        if offsets.len() < 2 {
            return Err(HmmError::NoSequences);
        }
        for (s, w) in offsets.windows(2).enumerate() {
            if w[0] == w[1] {
                return Err(HmmError::EmptySequence { sequence: s });
            }
            for (t, o) in data[w[0]..w[1]].iter().enumerate() {
                o.check(s, t)?;
            }
        }
        Ok(Self {
            data,
            offsets,
            missing: None,
        })
    }

    /// Marks observations as missing: `missing` has one flag per observation in flat order
    /// ([`Sequences::flat`]), `true` = missing. The value stored at a missing step is a
    /// placeholder that no emission reads at that step (an autoregressive one reads it when
    /// it looks back: see [`Sequences::with_missing_marker`]): the step contributes
    /// log-density 0 to every state
    /// (it is marginalised), in value and gradient, for every family, and filtering,
    /// smoothing, Viterbi and posterior sampling still give its states. All flags `false`
    /// is the same as no mask.
    ///
    /// ```
    /// use trellis_models::hmm::Sequences;
    /// let data = Sequences::new(vec![vec![0.1, 0.0, 2.0], vec![1.5]])?
    ///     .with_missing(vec![false, true, false, false])?;
    /// assert!(data.is_missing(1) && !data.is_missing(2));
    /// assert_eq!(data.missing_of(0), Some(&[false, true, false][..]));
    /// assert_eq!(data.n_missing(), 1);
    /// # Ok::<(), trellis_models::hmm::HmmError>(())
    /// ```
    ///
    /// # Errors
    /// [`HmmError::WrongLength`] unless there is one flag per observation.
    pub fn with_missing(mut self, missing: Vec<bool>) -> Result<Self, HmmError> {
        if missing.len() != self.data.len() {
            return Err(HmmError::WrongLength {
                what: "missing flags (one per observation, flat order)",
                expected: self.data.len(),
                found: missing.len(),
            });
        }
        self.missing = missing.contains(&true).then_some(missing);
        Ok(self)
    }

    /// Stores `marker` at every missing step, in place of the placeholder there: for an
    /// emission that reads earlier observations, so that it can tell a missing one apart
    /// when it looks back. [`Ar1Gaussian`](crate::zoo::Ar1Gaussian) reads NaN as missing and
    /// gives the step after a gap the gap's conditional density;
    /// [`HmmModel`](crate::zoo::HmmModel) does this itself for a family that asks
    /// ([`Family::missing_marker`](crate::zoo::Family::missing_marker)). The marker is not
    /// checked ([`Observation::check`]): a missing step's own density is never evaluated.
    /// Without missing steps the batch is unchanged.
    ///
    /// ```
    /// use trellis_models::hmm::Sequences;
    /// let data = Sequences::new(vec![vec![0.1, 0.0, 2.0]])?
    ///     .with_missing(vec![false, true, false])?
    ///     .with_missing_marker(f64::NAN);
    /// assert!(data[0][1].is_nan() && data[0][2] == 2.0);
    /// # Ok::<(), trellis_models::hmm::HmmError>(())
    /// ```
    pub fn with_missing_marker(mut self, marker: O) -> Self
    where
        O: Clone,
    {
        if let Some(missing) = &self.missing {
            fill_missing(&mut self.data, missing, &marker);
        }
        self
    }
}

/// Stores `marker` at the steps of `values` that `missing` flags (one flag per value).
pub(crate) fn fill_missing<O: Clone>(values: &mut [O], missing: &[bool], marker: &O) {
    for (o, _) in values.iter_mut().zip(missing).filter(|(_, &m)| m) {
        *o = marker.clone();
    }
}

impl<O> Sequences<O> {
    /// Number of sequences (at least 1).
    #[inline]
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Always false: a batch holds at least one sequence.
    #[inline]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Sequence `i`, or `None` when out of range.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&[O]> {
        (i < self.len()).then(|| &self.data[self.offsets[i]..self.offsets[i + 1]])
    }

    /// The sequences in order.
    pub fn iter(&self) -> SequencesIter<'_, O> {
        SequencesIter {
            data: &self.data,
            offsets: self.offsets.windows(2),
        }
    }

    /// The length of each sequence, in order.
    pub fn lengths(&self) -> impl ExactSizeIterator<Item = usize> + '_ {
        self.offsets.windows(2).map(|w| w[1] - w[0])
    }

    /// Total number of observations over all sequences.
    #[inline]
    pub fn total_len(&self) -> usize {
        self.data.len()
    }

    /// The longest sequence's length.
    pub fn max_len(&self) -> usize {
        self.lengths().max().unwrap_or(0)
    }

    /// All observations laid end to end.
    #[inline]
    pub fn flat(&self) -> &[O] {
        &self.data
    }

    /// Where each sequence starts in [`Sequences::flat`], plus the total length at the end.
    #[inline]
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// The missing flags (flat order, `true` = missing), `None` when no observation is
    /// missing (see [`Sequences::with_missing`]).
    #[inline]
    pub fn missing(&self) -> Option<&[bool]> {
        self.missing.as_deref()
    }

    /// Whether the observation at `flat_index` (in [`Sequences::flat`]) is missing; `false`
    /// past the end.
    #[inline]
    pub fn is_missing(&self, flat_index: usize) -> bool {
        self.missing
            .as_ref()
            .is_some_and(|m| m.get(flat_index).copied().unwrap_or(false))
    }

    /// The missing flags of sequence `i`, `None` when no observation of the batch is missing
    /// or `i` is out of range.
    pub fn missing_of(&self, i: usize) -> Option<&[bool]> {
        let m = self.missing.as_ref()?;
        (i < self.len()).then(|| &m[self.offsets[i]..self.offsets[i + 1]])
    }

    /// Number of missing observations.
    pub fn n_missing(&self) -> usize {
        self.missing
            .as_ref()
            .map_or(0, |m| m.iter().filter(|&&x| x).count())
    }
}

impl<O> Index<usize> for Sequences<O> {
    type Output = [O];
    #[inline]
    fn index(&self, i: usize) -> &[O] {
        &self.data[self.offsets[i]..self.offsets[i + 1]]
    }
}

impl<'a, O> IntoIterator for &'a Sequences<O> {
    type Item = &'a [O];
    type IntoIter = SequencesIter<'a, O>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over the sequences of a [`Sequences`] batch.
#[derive(Clone, Debug)]
pub struct SequencesIter<'a, O> {
    data: &'a [O],
    offsets: std::slice::Windows<'a, usize>,
}

impl<'a, O> Iterator for SequencesIter<'a, O> {
    type Item = &'a [O];
    #[inline]
    fn next(&mut self) -> Option<&'a [O]> {
        self.offsets.next().map(|w| &self.data[w[0]..w[1]])
    }
    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.offsets.size_hint()
    }
}

impl<O> ExactSizeIterator for SequencesIter<'_, O> {}

/// Parses comma-separated rows of numbers; lines of only whitespace at the end are ignored.
fn parse_csv_rows<O: Observation>(
    text: &str,
    parse: impl Fn(&str) -> Option<O>,
) -> Result<Sequences<O>, HmmError> {
    let body = text.trim_end();
    let mut data = Vec::new();
    let mut offsets = vec![0];
    if !body.is_empty() {
        for (l, line) in body.lines().enumerate() {
            let line = line.trim();
            if !line.is_empty() {
                for (f, field) in line.split(',').enumerate() {
                    let field = field.trim();
                    let value = parse(field).ok_or_else(|| HmmError::Parse {
                        line: l + 1,
                        field: f + 1,
                        text: field.to_string(),
                    })?;
                    data.push(value);
                }
            }
            offsets.push(data.len());
        }
    }
    Sequences::validated(data, offsets)
}

impl<O: Observation + std::str::FromStr> Sequences<O> {
    /// One sequence per line of comma-separated values (lines may differ in length), each
    /// parsed with `O::from_str` (`f64` for real observations, `usize` for states, categories
    /// or counts). A blank line is an empty sequence, which is an error; trailing blank lines
    /// are ignored.
    ///
    /// ```
    /// use trellis_models::hmm::{HmmError, Sequences};
    /// let data = Sequences::<f64>::from_csv_str("1.0,2.5,3\n0.5\n").unwrap();
    /// assert_eq!(data.lengths().collect::<Vec<_>>(), vec![3, 1]);
    /// let err = Sequences::<f64>::from_csv_str("1.0,x\n").unwrap_err();
    /// assert_eq!(err, HmmError::Parse { line: 1, field: 2, text: "x".into() });
    /// let states = Sequences::<usize>::from_csv_str("0,1,1\n2\n").unwrap();
    /// assert_eq!(&states[1], &[2]);
    /// ```
    pub fn from_csv_str(text: &str) -> Result<Self, HmmError> {
        parse_csv_rows(text, |s| s.parse::<O>().ok())
    }
}

const SEED_EMISSIONS: &str = include_str!("../../data/seed-hmm/emissions.csv");
const SEED_HIDDEN_STATES: &str = include_str!("../../data/seed-hmm/hidden_states.csv");
const SEED_TRUTH: &str = include_str!("../../data/seed-hmm/truth.json");

/// The built-in reference data set (`models/data/seed-hmm`): 70 simulated sequences of 51
/// Gaussian emissions from a 3-state HMM, with the true hidden states and parameters.
///
/// Emissions are `Normal((state + 1) · emission_signal, emission_noise)`.
#[derive(Clone, Debug)]
pub struct SeedDataset {
    /// The observations: 70 sequences × 51 time steps.
    pub sequences: Sequences<f64>,
    /// The hidden states that generated them, in `{0, 1, 2}`.
    pub hidden_states: Sequences<usize>,
    /// Number of hidden states (3).
    pub n_states: usize,
    /// True emission signal (1.15).
    pub emission_signal: f64,
    /// True emission noise, a standard deviation (0.15).
    pub emission_noise: f64,
    /// True initial-state probabilities.
    pub p_initial_state: Vec<f64>,
    /// True transition probabilities, row-major `K × K`, rows = from-state.
    pub p_transition: Vec<f64>,
}

/// The built-in reference data set, parsed from text compiled into the library.
///
/// ```
/// let seed = trellis_models::hmm::seed_dataset();
/// assert_eq!(seed.sequences.len(), 70);
/// assert_eq!(seed.sequences[0].len(), 51);
/// assert_eq!(seed.emission_signal, 1.15);
/// ```
pub fn seed_dataset() -> SeedDataset {
    let sequences =
        Sequences::<f64>::from_csv_str(SEED_EMISSIONS).expect("built-in seed emissions parse");
    let hidden_states = Sequences::<usize>::from_csv_str(SEED_HIDDEN_STATES)
        .expect("built-in seed hidden states parse");
    let truth: serde_json::Value =
        serde_json::from_str(SEED_TRUTH).expect("built-in seed truth.json parses");
    let number = |v: &serde_json::Value| v.as_f64().expect("built-in truth.json: a number");
    let p_initial_state = truth["p_initial_state"]
        .as_array()
        .expect("built-in truth.json: p_initial_state")
        .iter()
        .map(number)
        .collect();
    let p_transition = truth["p_transition"]
        .as_array()
        .expect("built-in truth.json: p_transition")
        .iter()
        .flat_map(|row| row.as_array().expect("a row").iter().map(number))
        .collect();
    SeedDataset {
        sequences,
        hidden_states,
        n_states: truth["n_states"].as_u64().expect("n_states") as usize,
        emission_signal: number(&truth["emission_signal"]),
        emission_noise: number(&truth["emission_noise"]),
        p_initial_state,
        p_transition,
    }
}
