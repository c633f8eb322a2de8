//! `cargo bench --bench harness`: smoke seeds per second on one core, and simulated messages
//! delivered per wall second by fleetsim's RPC layer beside a bare madsim ping-pong, in one
//! process, interleaved so that machine noise falls on every figure alike.
//!
//! Sizes come from the environment: `FLEETSIM_BENCH_REPEATS` (default 5),
//! `FLEETSIM_BENCH_SEEDS` (smoke seeds per repetition, default 2000) and
//! `FLEETSIM_BENCH_CALLS` (calls per ping-pong, default 50000). An argument `smoke` or
//! `ping-pong` (`cargo bench --bench harness -- smoke`) measures only that part, for profiling.

mod bare_madsim;
mod fleetsim_rpc;
mod measure;
mod smoke;

use measure::{Samples, Throughput};

/// Smoke seeds per wall second on one core the harness must reach.
const SMOKE_SEEDS_PER_SECOND_MIN: f64 = 500.0;
/// The harness's RPC message rate as a share of bare madsim's that it must reach.
const HARNESS_TO_BARE_RATIO_MIN: f64 = 0.5;
/// Seed of both ping-pong runtimes.
const PING_PONG_SEED: u64 = 1;

/// What one benchmark run measures, and how much.
struct Sizes {
    repeats: u64,
    seeds: u64,
    calls: u64,
    smoke: bool,
    ping_pong: bool,
}

fn size_from_environment(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => match text.parse() {
            Ok(value) if value > 0 => value,
            _ => panic!("{name} must be a whole number above zero, got '{text}'"),
        },
        Err(_) => default,
    }
}

fn sizes_from_environment_and_arguments() -> Sizes {
    // `cargo bench` passes `--bench`; other flags are ignored, a bare word selects a part.
    let parts: Vec<String> = std::env::args().skip(1).filter(|argument| !argument.starts_with('-')).collect();
    for part in &parts {
        assert!(part == "smoke" || part == "ping-pong", "unknown part '{part}' (known: smoke, ping-pong)");
    }
    Sizes {
        repeats: size_from_environment("FLEETSIM_BENCH_REPEATS", 5),
        seeds: size_from_environment("FLEETSIM_BENCH_SEEDS", 2_000),
        calls: size_from_environment("FLEETSIM_BENCH_CALLS", 50_000),
        smoke: parts.is_empty() || parts.iter().any(|part| part == "smoke"),
        ping_pong: parts.is_empty() || parts.iter().any(|part| part == "ping-pong"),
    }
}

/// One rate, per wall second and per CPU second of the measuring thread.
#[derive(Default)]
struct Rate {
    wall: Samples,
    cpu: Samples,
}

impl Rate {
    fn push(&mut self, throughput: Throughput) {
        self.wall.push(throughput.per_wall_second());
        self.cpu.push(throughput.per_cpu_second());
    }

    fn push_ratio(&mut self, numerator: Throughput, denominator: Throughput) {
        self.wall.push(numerator.per_wall_second() / denominator.per_wall_second());
        self.cpu.push(numerator.per_cpu_second() / denominator.per_cpu_second());
    }
}

#[derive(Default)]
struct Figures {
    smoke_seeds: Rate,
    smoke_messages: Rate,
    harness_messages: Rate,
    bare_messages: Rate,
    harness_to_bare: Rate,
}

fn measure_ping_pongs(sizes: &Sizes, figures: &mut Figures) {
    let bare = Throughput::measure(|| bare_madsim::ping_pong(PING_PONG_SEED, sizes.calls));
    let harness = Throughput::measure(|| fleetsim_rpc::ping_pong(PING_PONG_SEED, sizes.calls));
    figures.bare_messages.push(bare);
    figures.harness_messages.push(harness);
    figures.harness_to_bare.push_ratio(harness, bare);
}

fn measure_smoke(sizes: &Sizes, figures: &mut Figures) {
    let mut batch = smoke::Batch::default();
    let seeds = Throughput::measure(|| {
        batch = smoke::run_seeds(0, sizes.seeds);
        batch.seeds
    });
    figures.smoke_seeds.push(seeds);
    figures.smoke_messages.push(seeds.with_count(batch.messages_delivered));
}

fn measure_once(sizes: &Sizes, figures: &mut Figures) {
    if sizes.ping_pong {
        measure_ping_pongs(sizes, figures);
    }
    if sizes.smoke {
        measure_smoke(sizes, figures);
    }
}

fn print_rows(name: &str, rate: &Rate, precision: usize) {
    for (clock, samples) in [("CPU", &rate.cpu), ("wall", &rate.wall)] {
        if samples.is_empty() {
            continue;
        }
        let (median, min, max) = (samples.median(), samples.min(), samples.max());
        let label = format!("{name}, {clock}");
        println!("{label:<48} {median:>12.precision$} {min:>12.precision$} {max:>12.precision$}");
    }
}

/// Prints whether the medians of `rate` reach `minimum`; true when the CPU median does (or nothing ran).
fn print_target(name: &str, rate: &Rate, minimum: f64) -> bool {
    if rate.cpu.is_empty() {
        return true;
    }
    let (cpu, wall) = (rate.cpu.median(), rate.wall.median());
    let verdict = |value: f64| if value >= minimum { "met" } else { "MISSED" };
    println!("target {name:<46} CPU {} ({cpu:.3}), wall {} ({wall:.3})", verdict(cpu), verdict(wall));
    cpu >= minimum
}

fn main() {
    let sizes = sizes_from_environment_and_arguments();
    println!(
        "fleetsim harness benchmark: {} repetitions of {} smoke seeds and two ping-pongs of {} calls, one thread",
        sizes.repeats, sizes.seeds, sizes.calls
    );
    // Warm caches and allocators once, untimed.
    let warm_up = Sizes { seeds: sizes.seeds.min(50), calls: sizes.calls.min(1_000), ..sizes };
    measure_once(&warm_up, &mut Figures::default());
    let mut figures = Figures::default();
    for repetition in 1..=sizes.repeats {
        measure_once(&sizes, &mut figures);
        eprintln!("repetition {repetition}/{} done", sizes.repeats);
    }
    println!("{:<48} {:>12} {:>12} {:>12}", "figure (per second of)", "median", "min", "max");
    print_rows("smoke seeds/s", &figures.smoke_seeds, 0);
    print_rows("smoke messages delivered/s", &figures.smoke_messages, 0);
    print_rows("harness RPC messages delivered/s", &figures.harness_messages, 0);
    print_rows("bare madsim messages delivered/s", &figures.bare_messages, 0);
    print_rows("harness / bare madsim", &figures.harness_to_bare, 3);
    let smoke_target = format!("smoke >= {SMOKE_SEEDS_PER_SECOND_MIN} seeds/s");
    let smoke_met = print_target(&smoke_target, &figures.smoke_seeds, SMOKE_SEEDS_PER_SECOND_MIN);
    let ratio_target = format!("harness >= {HARNESS_TO_BARE_RATIO_MIN} x bare madsim");
    let ratio_met = print_target(&ratio_target, &figures.harness_to_bare, HARNESS_TO_BARE_RATIO_MIN);
    if !(smoke_met && ratio_met) {
        println!("a target was missed");
    }
}
