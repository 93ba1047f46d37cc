//! Session tags: process-unique 32-bit labels of recording sessions, all with exactly 16 bits
//! set.
//!
//! Equal weight is what lets the sweep check both operands of a node with one OR: for tags
//! `a`, `b` of weight 16 (or 0, the tag of constants) and a current tag `t`, `a | b == t`
//! holds only when each of `a`, `b` is `t` or 0, because no weight-16 word is a proper subset
//! of another. There are C(32, 16) = 601 080 390 such words; threads take them in blocks of
//! [`BLOCK`] (one atomic increment per block), in increasing numeric order within a block.

use std::sync::atomic::{AtomicU32, Ordering};

/// Bits set in every tag.
const WEIGHT: u32 = 16;
/// Tags handed to a thread at a time.
pub(crate) const BLOCK: u32 = 1 << 16;
/// Number of whole blocks among the C(32, 16) tags (the last, partial block is unused, so
/// stepping within a block never runs past the largest tag).
const BLOCKS: u32 = 9171;
/// The next block to hand out (modulo [`BLOCKS`]: after 6·10⁸ sessions tags recur).
static NEXT_BLOCK: AtomicU32 = AtomicU32::new(0);

/// C(n, k), exact for n ≤ 32.
fn binomial(n: u32, k: u32) -> u64 {
    if k > n {
        return 0;
    }
    // Each partial product is C(n, i + 1), an integer, so every division is exact.
    (0..k).fold(1u64, |c, i| c * u64::from(n - i) / u64::from(i + 1))
}

/// The `rank`-th weight-16 word in increasing order (the combinatorial number system).
fn unrank(mut rank: u64) -> u32 {
    let (mut word, mut left) = (0u32, WEIGHT);
    for bit in (0..32).rev() {
        if left == 0 {
            break;
        }
        // Words whose highest remaining set bit is below `bit`: choose `left` of `bit` bits.
        let below = binomial(bit, left);
        if rank >= below {
            word |= 1 << bit;
            rank -= below;
            left -= 1;
        }
    }
    word
}

/// The position of weight-16 `word` in increasing order (inverse of [`unrank`]).
fn rank(word: u32) -> u64 {
    let (mut rank, mut left) = (0u64, WEIGHT);
    for bit in (0..32).rev() {
        if word & (1 << bit) != 0 {
            rank += binomial(bit, left);
            left -= 1;
        }
    }
    rank
}

/// The next larger word with the same number of set bits (Gosper's hack).
fn next_same_weight(word: u32) -> u32 {
    let lowest = word & word.wrapping_neg();
    // Wrapping: past the largest weight-16 word the result is unused (see `fresh`).
    let ripple = word.wrapping_add(lowest);
    // `/ lowest` in the textbook form; `lowest` is a power of two, so a shift.
    (((ripple ^ word) >> 2) >> lowest.trailing_zeros()) | ripple
}

/// One thread's supply of tags.
pub(crate) struct TagSource {
    next: u32,
    left: u32,
    /// Every block this thread was given, to tell a tag of an ended session of this thread
    /// from one of another thread.
    blocks: Vec<u32>,
}

impl TagSource {
    pub(crate) const fn new() -> Self {
        Self {
            next: 0,
            left: 0,
            blocks: Vec::new(),
        }
    }

    /// A fresh tag: weight 16, unique in the process until 6·10⁸ sessions have started.
    #[inline]
    pub(crate) fn fresh(&mut self) -> u32 {
        if self.left == 0 {
            self.refill();
        }
        let tag = self.next;
        self.left -= 1;
        // Past the block's last tag this is garbage, but then `left == 0` and it is not used.
        self.next = next_same_weight(tag);
        tag
    }

    /// Takes the next block of tags.
    #[cold]
    #[inline(never)]
    fn refill(&mut self) {
        let block = NEXT_BLOCK.fetch_add(1, Ordering::Relaxed) % BLOCKS;
        self.next = unrank(u64::from(block) * u64::from(BLOCK));
        self.left = BLOCK;
        if !self.blocks.contains(&block) {
            self.blocks.push(block);
        }
    }

    /// Whether `tag` was handed to this thread (then its session has ended or is live).
    pub(crate) fn issued_here(&self, tag: u32) -> bool {
        tag.count_ones() == WEIGHT
            && u32::try_from(rank(tag) / u64::from(BLOCK))
                .is_ok_and(|block| self.blocks.contains(&block))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomials_and_ranks_agree_with_brute_force() {
        assert_eq!(binomial(32, 16), 601_080_390);
        assert_eq!(u64::from(BLOCKS), binomial(32, 16) / u64::from(BLOCK));
        // The first weight-16 words in order, by brute force.
        let brute: Vec<u32> = (0u32..=0x0002_FFFF)
            .filter(|w| w.count_ones() == WEIGHT)
            .take(2000)
            .collect();
        for (r, &w) in brute.iter().enumerate() {
            assert_eq!(unrank(r as u64), w);
            assert_eq!(rank(w), r as u64);
        }
        for w in brute.windows(2) {
            assert_eq!(next_same_weight(w[0]), w[1]);
        }
        let last = unrank(binomial(32, 16) - 1);
        assert_eq!(last, 0xFFFF_0000);
        assert_eq!(rank(last), binomial(32, 16) - 1);
    }

    #[test]
    fn a_block_steps_through_consecutive_ranks() {
        let first = unrank(u64::from(BLOCKS - 1) * u64::from(BLOCK));
        let mut word = first;
        for _ in 1..BLOCK {
            word = next_same_weight(word);
        }
        assert_eq!(rank(word), u64::from(BLOCKS) * u64::from(BLOCK) - 1);
        assert_eq!(word.count_ones(), WEIGHT);
    }

    #[test]
    fn tags_are_distinct_weight_16_and_known_to_their_thread() {
        let mut source = TagSource::new();
        let tags: Vec<u32> = (0..1000).map(|_| source.fresh()).collect();
        assert!(tags.iter().all(|t| t.count_ones() == WEIGHT));
        assert!(tags.windows(2).all(|w| w[0] < w[1]));
        assert!(tags.iter().all(|&t| source.issued_here(t)));
        let other = std::thread::spawn(|| TagSource::new().fresh())
            .join()
            .unwrap();
        assert!(!source.issued_here(other));
        assert!(!source.issued_here(0));
    }
}
