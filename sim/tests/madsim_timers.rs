//! The timers of the madsim fleetsim runs on (see vendor/madsim/PATCHES.md): a `Sleep` that is
//! dropped or reset before its deadline never wakes its task, so an answered call's timeout costs
//! nothing after the answer.

use madsim::runtime::Runtime;
use madsim::time::{sleep, timeout, Duration, Instant};
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// Wraps a future and counts how often the executor polls it.
struct CountPolls<F> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        self.inner.as_mut().poll(context)
    }
}

/// Runs `body` as a task of its own and returns how often that task was polled.
fn polls_of<F: Future<Output = ()> + Send + 'static>(seed: u64, body: F) -> usize {
    let runtime = Runtime::with_seed_and_config(seed, madsim::Config::default());
    runtime.block_on(async move {
        let polls = Arc::new(AtomicUsize::new(0));
        let task = madsim::task::spawn(CountPolls { inner: Box::pin(body), polls: polls.clone() });
        task.await.expect("the task finishes");
        polls.load(Ordering::Relaxed)
    })
}

#[test]
fn an_answered_timeout_never_wakes_its_task() {
    for seed in 1..=20 {
        let polls = polls_of(seed, async {
            let answer = timeout(Duration::from_millis(250), sleep(Duration::from_millis(10))).await;
            assert!(answer.is_ok(), "10 ms beats a 250 ms timeout");
            // Still asleep when the timeout's deadline passes.
            sleep(Duration::from_secs(1)).await;
        });
        // The first poll, the answer at 10 ms, the end of the second sleep: no wake at 250 ms.
        assert_eq!(polls, 3, "seed {seed}: a dropped timeout woke its task");
    }
}

#[test]
fn a_reset_sleep_wakes_only_at_its_new_deadline() {
    for seed in 1..=20 {
        let polls = polls_of(seed, async {
            let start = Instant::now();
            let mut nap = pin!(sleep(Duration::from_millis(10)));
            // Poll once so the sleep queues its timer for 10 ms, then move the deadline to 100 ms.
            assert!(futures_poll_once(nap.as_mut()).await.is_pending());
            nap.as_mut().reset(start + Duration::from_millis(100));
            nap.await;
            assert!(start.elapsed() >= Duration::from_millis(100), "the sleep ends at its new deadline");
        });
        assert_eq!(polls, 2, "seed {seed}: the sleep's old deadline woke its task");
    }
}

#[test]
fn a_sleep_polled_again_before_its_deadline_still_wakes_at_it() {
    for seed in 1..=20 {
        let polls = polls_of(seed, async {
            let start = Instant::now();
            let mut nap = pin!(sleep(Duration::from_millis(50)));
            for _ in 0..3 {
                assert!(futures_poll_once(nap.as_mut()).await.is_pending());
                madsim::task::yield_now().await;
            }
            nap.await;
            assert!(start.elapsed() >= Duration::from_millis(50), "the sleep ends at its deadline");
        });
        // Three polls that yield, the poll after the last yield, the wake at 50 ms.
        assert_eq!(polls, 5, "seed {seed}: a sleep polled four times did not wake its task once at its deadline");
    }
}

/// Polls `future` once, from inside the task, and returns what it answered.
async fn futures_poll_once<F: Future + Unpin>(mut future: F) -> Poll<F::Output> {
    std::future::poll_fn(|context| Poll::Ready(Pin::new(&mut future).poll(context))).await
}
