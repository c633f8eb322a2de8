use super::*;
use super::timer::SleepKey;
use std::{fmt, pin::Pin, task::Poll};

/// Waits until `duration` has elapsed.
pub fn sleep(duration: Duration) -> Sleep {
    let handle = TimeHandle::current();
    handle.sleep(duration)
}

/// Waits until `deadline` is reached.
pub fn sleep_until(deadline: Instant) -> Sleep {
    let handle = TimeHandle::current();
    handle.sleep_until(deadline)
}

/// Future returned by [`sleep`] and [`sleep_until`].
///
/// [`sleep`]: sleep()
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    pub(super) handle: TimeHandle,
    /// fleetsim patch: the deadline as simulated time since the clock's base, so that polls
    /// compare and queue durations instead of doing instant arithmetic.
    pub(super) deadline: Duration,
    /// fleetsim patch: the one timer this `Sleep` queued; cancelled when it is dropped or reset.
    pub(super) slot: Option<SleepKey>,
}

impl Sleep {
    /// Returns the instant at which the future will complete.
    pub fn deadline(&self) -> Instant {
        self.handle.clock.base_instant() + self.deadline
    }

    /// Returns `true` if `Sleep` has elapsed.
    ///
    /// A `Sleep` instance is elapsed when the requested duration has elapsed.
    pub fn is_elapsed(&self) -> bool {
        self.handle.clock.elapsed() >= self.deadline
    }

    /// Resets the `Sleep` instance to a new deadline.
    pub fn reset(mut self: Pin<&mut Self>, deadline: Instant) {
        self.cancel();
        self.deadline = deadline.saturating_duration_since(self.handle.clock.base_instant());
    }

    fn cancel(&mut self) {
        // An elapsed sleep's timer has fired and its entry is free already (see `timer.rs`).
        if let Some(key) = self.slot.take() {
            if !self.is_elapsed() {
                self.handle.cancel_sleep(key);
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        if self.is_elapsed() {
            return Poll::Ready(());
        }
        // fleetsim patch: one timer per deadline; a later poll only replaces the waker it wakes.
        let this = self.get_mut();
        this.slot = Some(this.handle.arm_sleep(this.slot, this.deadline, cx.waker()));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline())
            .finish()
    }
}
