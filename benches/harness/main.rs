//! `cargo bench --bench harness`: smoke seeds per second on one core, simulated messages
//! delivered per second by fleetsim's RPC layer (as `run` does it, its tail kept, and as a
//! campaign does, no event kept) beside a bare madsim ping-pong, in one process, interleaved so
//! that machine noise falls on every figure alike; then `fleetsim fuzz` campaigns with one job and
//! with two, alternating.
//!
//! Sizes come from the environment: `FLEETSIM_BENCH_REPEATS` (default 5),
//! `FLEETSIM_BENCH_SEEDS` (smoke seeds per repetition, default 2000),
//! `FLEETSIM_BENCH_CALLS` (calls per ping-pong, default 50000),
//! `FLEETSIM_BENCH_SCALING_ROUNDS` (rounds of one campaign per job count, default 20) and
//! `FLEETSIM_BENCH_SCALING_SEEDS` (`--seeds` of each campaign, default 40) and
//! `FLEETSIM_BENCH_WORKLOAD_SEEDS` (`control-plane` seeds per size and repetition of the workload
//! scaling part, default 40; `FLEETSIM_BENCH_WORKLOAD_FACTOR=8` measures that size alone). An argument `smoke`, `ping-pong`, `workload` or `scaling`
//! (`cargo bench --bench harness -- smoke`) measures only that part.

mod bare_madsim;
mod fleetsim_rpc;
mod measure;
mod scaling;
mod smoke;
mod workload_scaling;

use measure::{Samples, Throughput};

/// The allocator the `fleetsim` binary runs campaigns with, so each part measures what users run;
/// the bare ping-pong runs on it too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Smoke seeds per wall second on one core the harness must reach.
const SMOKE_SEEDS_PER_SECOND_MIN: f64 = 500.0;
/// The harness's RPC message rate as a share of bare madsim's that it must reach.
const HARNESS_TO_BARE_RATIO_MIN: f64 = 0.6;
/// Campaign runs per wall second with two jobs, as a multiple of one job's, that campaigns must reach.
const TWO_JOBS_TO_ONE_RATIO_MIN: f64 = 1.8;
/// Cost per event at 8 times the `control-plane` workload, as a multiple of the cost at 1 time,
/// that the harness and model must stay within.
const COST_PER_EVENT_GROWTH_MAX: f64 = 1.15;
/// The benchmark's parts, as named on the command line.
const PARTS: [&str; 4] = ["smoke", "ping-pong", "workload", "scaling"];
/// Seed of every ping-pong runtime.
const PING_PONG_SEED: u64 = 1;

/// What one benchmark run measures, and how much.
struct Sizes {
    repeats: u64,
    seeds: u64,
    calls: u64,
    scaling_rounds: u64,
    scaling_seeds: u64,
    workload_seeds: u64,
    smoke: bool,
    ping_pong: bool,
    workload: bool,
    scaling: bool,
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
        assert!(PARTS.contains(&part.as_str()), "unknown part '{part}' (known: {})", PARTS.join(", "));
    }
    let selected = |name: &str| parts.is_empty() || parts.iter().any(|part| part == name);
    Sizes {
        repeats: size_from_environment("FLEETSIM_BENCH_REPEATS", 5),
        seeds: size_from_environment("FLEETSIM_BENCH_SEEDS", 2_000),
        calls: size_from_environment("FLEETSIM_BENCH_CALLS", 50_000),
        scaling_rounds: size_from_environment("FLEETSIM_BENCH_SCALING_ROUNDS", 20),
        scaling_seeds: size_from_environment("FLEETSIM_BENCH_SCALING_SEEDS", 40),
        workload_seeds: size_from_environment("FLEETSIM_BENCH_WORKLOAD_SEEDS", 40),
        smoke: selected("smoke"),
        ping_pong: selected("ping-pong"),
        workload: selected("workload"),
        scaling: selected("scaling"),
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
    campaign_harness_messages: Rate,
    bare_messages: Rate,
    harness_to_bare: Rate,
    campaign_harness_to_bare: Rate,
    campaign_one_job: Rate,
    campaign_two_jobs: Rate,
    two_jobs_to_one: Rate,
    /// Per workload factor: CPU microseconds per trace event.
    event_cost_us: Vec<Samples>,
    /// Per workload factor: the cost per event over the cost at factor 1 in the same repetition.
    event_cost_growth: Vec<Samples>,
    /// Per workload factor: totals over every repetition.
    workload_batches: Vec<workload_scaling::Batch>,
}

fn measure_ping_pongs(sizes: &Sizes, figures: &mut Figures) {
    let bare = Throughput::measure(|| bare_madsim::ping_pong(PING_PONG_SEED, sizes.calls));
    let harness = Throughput::measure(|| fleetsim_rpc::ping_pong(PING_PONG_SEED, sizes.calls));
    let campaign = Throughput::measure(|| fleetsim_rpc::ping_pong_campaign(PING_PONG_SEED, sizes.calls));
    figures.bare_messages.push(bare);
    figures.harness_messages.push(harness);
    figures.campaign_harness_messages.push(campaign);
    figures.harness_to_bare.push_ratio(harness, bare);
    figures.campaign_harness_to_bare.push_ratio(campaign, bare);
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

fn measure_scaling(sizes: &Sizes, figures: &mut Figures) {
    let folder = scaling::scratch_folder();
    for round in 1..=sizes.scaling_rounds {
        let scaling::Round { one_job, two_jobs } = scaling::run_round(round, sizes.scaling_seeds, &folder);
        figures.campaign_one_job.wall.push(one_job.runs_per_wall_second);
        figures.campaign_one_job.cpu.push(one_job.runs_per_cpu_second);
        figures.campaign_two_jobs.wall.push(two_jobs.runs_per_wall_second);
        figures.campaign_two_jobs.cpu.push(two_jobs.runs_per_cpu_second);
        figures.two_jobs_to_one.wall.push(two_jobs.runs_per_wall_second / one_job.runs_per_wall_second);
        figures.two_jobs_to_one.cpu.push(two_jobs.runs_per_cpu_second / one_job.runs_per_cpu_second);
        eprintln!("scaling round {round}/{} done", sizes.scaling_rounds);
    }
    scaling::remove_folder(&folder);
}

fn measure_workload_scaling(sizes: &Sizes, figures: &mut Figures) {
    let factors = workload_scaling::FACTORS.len();
    figures.event_cost_us.resize_with(factors, Samples::default);
    figures.event_cost_growth.resize_with(factors, Samples::default);
    figures.workload_batches.resize_with(factors, Default::default);
    let mut base_cost_us = None;
    for (position, factor) in workload_scaling::FACTORS.into_iter().enumerate() {
        if !workload_scaling::selected(factor) {
            continue;
        }
        let (batch, throughput) = workload_scaling::run_seeds(factor, 1, sizes.workload_seeds);
        let cost_us = 1e6 / throughput.per_cpu_second();
        let base = *base_cost_us.get_or_insert(cost_us);
        figures.event_cost_us[position].push(cost_us);
        figures.event_cost_growth[position].push(cost_us / base);
        let total = &mut figures.workload_batches[position];
        total.seeds += batch.seeds;
        total.events += batch.events;
        total.messages_delivered += batch.messages_delivered;
        total.failed += batch.failed;
    }
}

fn measure_once(sizes: &Sizes, figures: &mut Figures) {
    if sizes.ping_pong {
        measure_ping_pongs(sizes, figures);
    }
    if sizes.smoke {
        measure_smoke(sizes, figures);
    }
    if sizes.workload {
        measure_workload_scaling(sizes, figures);
    }
}

fn print_workload_scaling(figures: &Figures) -> bool {
    if figures.event_cost_us.is_empty() {
        return true;
    }
    println!(
        "{:<24} {:>12} {:>12} {:>12} {:>14} {:>16} {:>8}",
        "control-plane workload", "CPU us/event", "min", "max", "x cost at 1x", "events per run", "failed"
    );
    for (position, factor) in workload_scaling::FACTORS.into_iter().enumerate() {
        if figures.event_cost_us[position].is_empty() {
            continue;
        }
        let (cost, growth, batch) = (
            &figures.event_cost_us[position],
            &figures.event_cost_growth[position],
            figures.workload_batches[position],
        );
        println!(
            "{:<24} {:>12.3} {:>12.3} {:>12.3} {:>14.3} {:>16.0} {:>8}",
            format!("{factor}x"),
            cost.median(),
            cost.min(),
            cost.max(),
            growth.median(),
            batch.events as f64 / batch.seeds as f64,
            batch.failed
        );
    }
    let (first, last) = (&figures.event_cost_us[0], figures.event_cost_growth.last().expect("factors measured"));
    if first.is_empty() || last.is_empty() {
        return true; // one size alone: nothing to compare
    }
    let growth = last.median();
    let met = growth <= COST_PER_EVENT_GROWTH_MAX;
    let verdict = if met { "met" } else { "MISSED" };
    println!(
        "target {:<46} CPU {verdict} ({growth:.3})",
        format!("cost per event at 8x <= {COST_PER_EVENT_GROWTH_MAX} x 1x")
    );
    met
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

/// Which median of a rate a target judges.
#[derive(Clone, Copy, PartialEq)]
enum Judged {
    Cpu,
    Wall,
}

/// Prints whether the medians of `rate` reach `minimum` (a wall target: the wall median only); true
/// when the judged median does (or nothing ran).
fn print_target(name: &str, rate: &Rate, minimum: f64, judged: Judged) -> bool {
    if rate.cpu.is_empty() {
        return true;
    }
    let (cpu, wall) = (rate.cpu.median(), rate.wall.median());
    let verdict = |value: f64| if value >= minimum { "met" } else { "MISSED" };
    match judged {
        Judged::Cpu => {
            println!("target {name:<46} CPU {} ({cpu:.3}), wall {} ({wall:.3})", verdict(cpu), verdict(wall));
            cpu >= minimum
        }
        Judged::Wall => {
            println!("target {name:<46} wall {} ({wall:.3})", verdict(wall));
            wall >= minimum
        }
    }
}

fn main() {
    let sizes = sizes_from_environment_and_arguments();
    println!(
        "fleetsim harness benchmark: {} repetitions of {} smoke seeds, three ping-pongs of {} calls (bare, kept tail, campaign) and {} \
         control-plane seeds at each workload size, one thread; {} rounds of `fleetsim fuzz --seeds {}` with 1 and 2 jobs",
        sizes.repeats, sizes.seeds, sizes.calls, sizes.workload_seeds, sizes.scaling_rounds, sizes.scaling_seeds
    );
    // Warm caches and allocators once, untimed.
    let warm_up = Sizes {
        seeds: sizes.seeds.min(50),
        calls: sizes.calls.min(1_000),
        workload_seeds: sizes.workload_seeds.min(2),
        ..sizes
    };
    measure_once(&warm_up, &mut Figures::default());
    let mut figures = Figures::default();
    for repetition in 1..=sizes.repeats {
        measure_once(&sizes, &mut figures);
        eprintln!("repetition {repetition}/{} done", sizes.repeats);
    }
    if sizes.scaling {
        measure_scaling(&Sizes { scaling_rounds: 1, scaling_seeds: 1, ..sizes }, &mut Figures::default());
        measure_scaling(&sizes, &mut figures);
    }
    println!("{:<48} {:>12} {:>12} {:>12}", "figure (per second of)", "median", "min", "max");
    print_rows("smoke seeds/s", &figures.smoke_seeds, 0);
    print_rows("smoke messages delivered/s", &figures.smoke_messages, 0);
    print_rows("harness RPC messages delivered/s", &figures.harness_messages, 0);
    print_rows("harness RPC messages/s, campaign run", &figures.campaign_harness_messages, 0);
    print_rows("bare madsim messages delivered/s", &figures.bare_messages, 0);
    print_rows("harness / bare madsim", &figures.harness_to_bare, 3);
    print_rows("harness / bare madsim, campaign run", &figures.campaign_harness_to_bare, 3);
    print_rows("campaign runs/s, 1 job", &figures.campaign_one_job, 0);
    print_rows("campaign runs/s, 2 jobs", &figures.campaign_two_jobs, 0);
    print_rows("campaign 2 jobs / 1 job", &figures.two_jobs_to_one, 3);
    let smoke_target = format!("smoke >= {SMOKE_SEEDS_PER_SECOND_MIN} seeds/s");
    let smoke_met = print_target(&smoke_target, &figures.smoke_seeds, SMOKE_SEEDS_PER_SECOND_MIN, Judged::Cpu);
    let ratio_target = format!("harness >= {HARNESS_TO_BARE_RATIO_MIN} x bare madsim");
    let ratio_met = print_target(&ratio_target, &figures.harness_to_bare, HARNESS_TO_BARE_RATIO_MIN, Judged::Cpu);
    let campaign_ratio_target = format!("harness >= {HARNESS_TO_BARE_RATIO_MIN} x bare madsim, campaign run");
    let campaign_ratio = &figures.campaign_harness_to_bare;
    let campaign_ratio_met =
        print_target(&campaign_ratio_target, campaign_ratio, HARNESS_TO_BARE_RATIO_MIN, Judged::Cpu);
    // Scaling is about wall time: the CPU ratio only shows how much more a run costs beside another.
    let scaling_target = format!("campaign 2 jobs >= {TWO_JOBS_TO_ONE_RATIO_MIN} x 1 job");
    let scaling_met = print_target(&scaling_target, &figures.two_jobs_to_one, TWO_JOBS_TO_ONE_RATIO_MIN, Judged::Wall);
    let workload_met = print_workload_scaling(&figures);
    if !(smoke_met && ratio_met && campaign_ratio_met && scaling_met && workload_met) {
        println!("a target was missed");
    }
}
