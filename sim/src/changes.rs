//! A change log kept inside durable state: the keys each write touched, numbered in order, so an
//! invariant looks at only what changed since its last check instead of the whole state.
//!
//! The log lives in the state a [`crate::Disk`] holds, so it follows the state through every
//! storage fault: the durable view's log is the log of the writes that view contains, and it only
//! ever grows (a crash loses unsynced writes and their entries together, and the durable view never
//! saw them). A checker remembers the [`Changes::position`] it read up to; [`Changes::since`] gives
//! the keys touched after it, or `None` when the log no longer reaches back that far (or the
//! position is not one of this log's), and then the checker looks at everything once.

use std::collections::VecDeque;

/// Most keys a log keeps; an invariant that falls further behind looks at everything once.
pub const CHANGES_KEPT_MAX: usize = 1024;

/// The keys a state's writes touched, the last [`CHANGES_KEPT_MAX`] kept. It is bookkeeping, not
/// state: two logs always compare equal, so states that hold the same data are equal whatever
/// their histories.
#[derive(Clone, Debug)]
pub struct Changes<K> {
    /// Keys touched ever.
    touched: u64,
    /// The last keys touched, oldest first.
    keys: VecDeque<K>,
}

impl<K> Default for Changes<K> {
    fn default() -> Self {
        Self { touched: 0, keys: VecDeque::new() }
    }
}

impl<K> PartialEq for Changes<K> {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl<K> Eq for Changes<K> {}

impl<K> Changes<K> {
    /// Records that a write changed what `key` names. Every write to the state must touch every
    /// key whose data it changed: a checker trusts the log to be complete.
    pub fn touch(&mut self, key: K) {
        if self.keys.len() == CHANGES_KEPT_MAX {
            self.keys.pop_front();
        }
        self.keys.push_back(key);
        self.touched += 1;
    }

    /// The keys touched after `*position` as [`Changes::since`] gives them (`None` also before the
    /// first read, when `*position` is `None`), moving `*position` to the end: one step of a checker
    /// that follows the log.
    pub fn follow(&self, position: &mut Option<u64>) -> Option<std::collections::vec_deque::Iter<'_, K>> {
        let touched = position.and_then(|position| self.since(position));
        *position = Some(self.touched);
        touched
    }

    /// The position after the last key touched: what a checker remembers having read up to.
    pub fn position(&self) -> u64 {
        self.touched
    }

    /// The keys touched after `position`, oldest first (a key touched twice comes twice); `None`
    /// when the log does not reach back to `position` or has not reached it.
    pub fn since(&self, position: u64) -> Option<std::collections::vec_deque::Iter<'_, K>> {
        let first = self.touched - self.keys.len() as u64;
        if position < first || position > self.touched {
            return None;
        }
        Some(self.keys.range((position - first) as usize..))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_gives_exactly_the_keys_after_a_position_while_the_log_reaches_it() {
        let mut changes = Changes::default();
        assert_eq!((changes.position(), changes.since(0).map(Iterator::count)), (0, Some(0)));
        for key in 0..5u32 {
            changes.touch(key);
        }
        let after_two: Vec<u32> = changes.since(2).expect("kept").copied().collect();
        assert_eq!((after_two, changes.position()), (vec![2, 3, 4], 5));
        assert!(changes.since(6).is_none(), "a position this log never reached");
        for key in 5..(CHANGES_KEPT_MAX as u32 + 10) {
            changes.touch(key);
        }
        assert!(changes.since(9).is_none() && changes.since(10).is_some(), "the oldest kept key is the tenth");
        assert_eq!(changes.since(changes.position()).map(Iterator::count), Some(0));
        assert_eq!(changes, Changes::default(), "a log is bookkeeping, not state");
    }
}
