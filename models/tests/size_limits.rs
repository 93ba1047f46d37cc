//! Sizes that overflow are typed errors, checked before anything is allocated (they used to
//! wrap around or panic with "capacity overflow").

use trellis_models::hmm::{HmmError, Sequences};
use trellis_models::layout::MAX_LAYOUT_LEN;
use trellis_models::transforms::Transform;
use trellis_models::{LayoutError, ParamLayout, Shape};

#[test]
fn flat_lengths_whose_sum_overflows_are_refused() {
    // usize::MAX + 3 wraps to 2, which would have matched the two observations.
    let err = Sequences::from_flat(vec![1.0, 2.0], &[usize::MAX, 3]).unwrap_err();
    assert_eq!(
        err,
        HmmError::WrongLength {
            what: "flat observations (sum of the sequence lengths, past usize::MAX)",
            expected: usize::MAX,
            found: 2,
        }
    );
    // Lengths that add up still work, and a plain mismatch keeps its message.
    let ok = Sequences::from_flat(vec![1.0, 2.0, 3.0], &[1, 2]).unwrap();
    assert_eq!(ok.offsets(), &[0, 1, 3]);
    let err = Sequences::from_flat(vec![1.0, 2.0], &[1, 2]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "flat observations (sum of the sequence lengths) has length 2, expected 3"
    );
}

#[test]
fn shapes_whose_size_overflows_are_refused() {
    assert_eq!(Shape::Matrix(usize::MAX, 3).checked_len(), None);
    assert_eq!(Shape::Matrix(4, 3).checked_len(), Some(12));
    let err = ParamLayout::new()
        .add("w", Shape::Matrix(usize::MAX, 3), Transform::Identity)
        .unwrap_err();
    assert_eq!(
        err,
        LayoutError::InvalidParameter {
            name: "w".to_string(),
            reason: format!(
                "shape Matrix(18446744073709551615, 3) has more than {MAX_LAYOUT_LEN} elements \
                 (the most a vector of f64 can hold)"
            ),
        }
    );
    // Each parameter fits, but together they do not.
    let half = MAX_LAYOUT_LEN / 2 + 1;
    let err = ParamLayout::new()
        .add("a", Shape::Vector(half), Transform::Identity)
        .and_then(|l| l.add("b", Shape::Vector(half), Transform::Identity))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "parameter `b`: the layout would have more than {MAX_LAYOUT_LEN} values (the most a \
             vector of f64 can hold)"
        )
    );
}
