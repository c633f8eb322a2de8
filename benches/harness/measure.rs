//! Repeated measurements: median, minimum and maximum of a rate.

use std::time::Instant;

/// The values one figure took over the repetitions of a benchmark.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    values: Vec<f64>,
}

impl Samples {
    /// Adds one measured value.
    pub fn push(&mut self, value: f64) {
        assert!(value.is_finite() && value >= 0.0, "a rate is finite and not negative: {value}");
        self.values.push(value);
    }

    /// True before the first value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn sorted(&self) -> Vec<f64> {
        assert!(!self.values.is_empty(), "a figure needs at least one sample");
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        sorted
    }

    /// The median (the mean of the two middle values for an even count).
    pub fn median(&self) -> f64 {
        let sorted = self.sorted();
        let middle = sorted.len() / 2;
        if sorted.len() % 2 == 1 {
            sorted[middle]
        } else {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        }
    }

    /// The smallest value.
    pub fn min(&self) -> f64 {
        self.sorted()[0]
    }

    /// The largest value.
    pub fn max(&self) -> f64 {
        *self.sorted().last().expect("not empty")
    }
}

/// CPU seconds this thread has used so far (it runs on one core at a time).
pub fn thread_cpu_seconds() -> f64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid, writable timespec for the duration of the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "the thread CPU clock is readable");
    now.tv_sec as f64 + now.tv_nsec as f64 / 1e9
}

/// A count of things done, with the wall time and this thread's CPU time they took.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    /// Things done (seeds, messages).
    pub count: u64,
    /// Wall seconds they took.
    pub wall_seconds: f64,
    /// CPU seconds the measuring thread spent on them.
    pub cpu_seconds: f64,
}

impl Throughput {
    /// Runs `work`, which returns how many things it did, and times it.
    pub fn measure(work: impl FnOnce() -> u64) -> Self {
        let (wall_started, cpu_started) = (Instant::now(), thread_cpu_seconds());
        let count = work();
        let cpu_seconds = thread_cpu_seconds() - cpu_started;
        Self { count, wall_seconds: wall_started.elapsed().as_secs_f64(), cpu_seconds }
    }

    /// The same times, another count (things done along the way).
    pub fn with_count(self, count: u64) -> Self {
        Self { count, ..self }
    }

    /// Things per wall second.
    pub fn per_wall_second(&self) -> f64 {
        assert!(self.wall_seconds > 0.0, "a measurement takes wall time");
        self.count as f64 / self.wall_seconds
    }

    /// Things per CPU second of the measuring thread: the rate on one dedicated core.
    pub fn per_cpu_second(&self) -> f64 {
        assert!(self.cpu_seconds > 0.0, "a measurement takes CPU time");
        self.count as f64 / self.cpu_seconds
    }
}
