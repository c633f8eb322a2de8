//! fleetsim patch (see PATCHES.md at the crate's root): the simulator's timer queue, with timers a
//! `Sleep` can cancel.
//!
//! The published crate queues timers in `naive_timer`, which cannot cancel one: a `Sleep` queued
//! a fresh timer at every poll, and a dropped `Sleep` (the timeout of a call that was answered)
//! still fired at its deadline and woke its task for nothing. Here a `Sleep` queues one timer, its
//! later polls only replace the waker the timer will wake, and dropping it cancels the timer, which
//! the queue then skips without moving the clock to it. Timers due at the same instant fire in the
//! order they were queued.
//!
//! Most timers are the 1 ms sleeps before every send and receive (madsim's sleep lasts at least
//! 1 ms): queued at "now + 1 ms" while now only grows, they arrive in deadline order, so a plain
//! first-in first-out lane holds them instead of the heap. Which of the two holds a timer changes
//! only the cost, never the order timers fire in.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::task::Waker;
use std::time::Duration;

/// The queue of timers, earliest deadline first, and the state of every `Sleep`'s timer.
#[derive(Default)]
pub(crate) struct Timer {
    events: BinaryHeap<Event>,
    /// Timers due within `SOON` of their queueing, in the order of their keys.
    soon: VecDeque<Event>,
    /// The clock at the last `expire`.
    now: Duration,
    queued: u64,
    sleeps: Vec<SleepState>,
    free_sleeps: Vec<u32>,
}

/// How far ahead a timer may be due and still join the in-order lane.
const SOON: Duration = Duration::from_millis(1);

/// Which `Sleep` timer a `Sleep` owns: its index in the timer's table and that entry's generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SleepKey {
    index: u32,
    generation: u32,
}

/// What a timer does when it fires.
enum Action {
    /// Runs a callback (message delivery, node restart).
    Call(Box<dyn FnOnce() + Send + Sync + 'static>),
    /// Wakes the task waiting on a `Sleep`, unless the `Sleep` was dropped.
    Wake(SleepKey),
}

/// One queued timer; `key` orders by deadline (nanoseconds, high half) and then by queue order.
struct Event {
    key: u128,
    action: Action,
}

/// One `Sleep`'s timer. The entry is free again once the queue pops it: a fired timer's `Sleep`
/// has elapsed, and an elapsed `Sleep` never uses its key again (every timer due by the clock
/// fires before any task runs, so a `Sleep` has elapsed exactly when its timer has fired).
#[derive(Default)]
struct SleepState {
    generation: u32,
    phase: Phase,
    waker: Option<Waker>,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    #[default]
    Free,
    /// Queued; its `Sleep` waits.
    Armed,
    /// Its `Sleep` was dropped or reset; the queue still holds the event.
    Cancelled,
}

impl Timer {
    /// Queues `callback` to run once the clock reaches `deadline`.
    pub(crate) fn add(&mut self, deadline: Duration, callback: impl FnOnce() + Send + Sync + 'static) {
        self.push(deadline, Action::Call(Box::new(callback)));
    }

    /// Queues a `Sleep`'s timer: it wakes `waker` (or the waker set later) at `deadline`.
    pub(crate) fn add_sleep(&mut self, deadline: Duration, waker: &Waker) -> SleepKey {
        let index = match self.free_sleeps.pop() {
            Some(index) => index,
            None => {
                self.sleeps.push(SleepState::default());
                u32::try_from(self.sleeps.len() - 1).expect("fewer than 2^32 sleeps at once")
            }
        };
        let state = &mut self.sleeps[index as usize];
        state.generation = state.generation.wrapping_add(1);
        state.phase = Phase::Armed;
        state.waker = Some(waker.clone());
        let key = SleepKey { index, generation: state.generation };
        self.push(deadline, Action::Wake(key));
        key
    }

    /// Makes `waker` the one a still queued `Sleep` timer wakes; false if it is not queued.
    pub(crate) fn rearm_sleep(&mut self, key: SleepKey, waker: &Waker) -> bool {
        let Some(state) = self.armed(key) else {
            return false;
        };
        match &state.waker {
            Some(current) if current.will_wake(waker) => {}
            _ => state.waker = Some(waker.clone()),
        }
        true
    }

    /// Gives up a `Sleep`'s queued timer; returns its waker, to be dropped outside the lock.
    pub(crate) fn cancel_sleep(&mut self, key: SleepKey) -> Option<Waker> {
        let state = self.armed(key)?;
        state.phase = Phase::Cancelled;
        state.waker.take()
    }

    /// The entry of `key`'s timer while it is queued for that `Sleep`.
    fn armed(&mut self, key: SleepKey) -> Option<&mut SleepState> {
        let state = &mut self.sleeps[key.index as usize];
        (state.generation == key.generation && state.phase == Phase::Armed).then_some(state)
    }

    fn free(&mut self, index: u32) {
        self.sleeps[index as usize].phase = Phase::Free;
        self.free_sleeps.push(index);
    }

    fn push(&mut self, deadline: Duration, action: Action) {
        self.queued += 1;
        let nanos = u64::try_from(deadline.as_nanos()).expect("a deadline within 584 years");
        let event = Event { key: (u128::from(nanos) << 64) | u128::from(self.queued), action };
        let in_order = self.soon.back().is_none_or(|last| last.key < event.key);
        if in_order && deadline <= self.now + SOON {
            self.soon.push_back(event);
        } else {
            self.events.push(event);
        }
    }

    /// The earliest queued timer's key, and whether the in-order lane holds it.
    fn first(&self) -> Option<(u128, bool)> {
        match (self.soon.front(), self.events.peek()) {
            (Some(lane), Some(heap)) if heap.key < lane.key => Some((heap.key, false)),
            (Some(lane), _) => Some((lane.key, true)),
            (None, Some(heap)) => Some((heap.key, false)),
            (None, None) => None,
        }
    }

    fn pop(&mut self, from_lane: bool) -> Event {
        let event = if from_lane { self.soon.pop_front() } else { self.events.pop() };
        event.expect("the first timer is there")
    }

    /// Fires every timer due at `now`, earliest first.
    pub(crate) fn expire(&mut self, now: Duration) {
        self.now = now;
        let due = (now.as_nanos() << 64) | u128::from(u64::MAX);
        while let Some((_, from_lane)) = self.first().filter(|&(key, _)| key <= due) {
            match self.pop(from_lane).action {
                Action::Call(callback) => callback(),
                Action::Wake(sleep) => self.fire(sleep),
            }
        }
    }

    fn fire(&mut self, key: SleepKey) {
        let waker = self.sleeps[key.index as usize].waker.take();
        self.free(key.index);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The deadline of the earliest timer not cancelled; cancelled timers before it are removed.
    pub(crate) fn next(&mut self) -> Option<Duration> {
        while let Some((key, from_lane)) = self.first() {
            let queue_head = if from_lane { self.soon.front() } else { self.events.peek() };
            match queue_head.map(|event| &event.action) {
                Some(Action::Wake(sleep)) if self.sleeps[sleep.index as usize].phase == Phase::Cancelled => {
                    let index = sleep.index;
                    self.pop(from_lane);
                    self.free(index);
                }
                _ => return Some(Duration::from_nanos((key >> 64) as u64)),
            }
        }
        None
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Event {}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

// BinaryHeap is a max-heap: the earliest deadline, then the first queued, compares greatest.
impl Ord for Event {
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}
