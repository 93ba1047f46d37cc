//! Wording shared by the commands' messages.

/// `n` and the noun, plural when `n` is not 1: "1 chain", "4 chains".
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
