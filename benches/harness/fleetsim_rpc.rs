//! The harness's message path: the same ping-pong as the bare baseline, through
//! `fleetsim_sim::Rpc` inside a full run (envelope, routing decision, trace, dispatcher).

use fleetsim_sim::{
    run, BoxFuture, FaultProfile, FaultStrategy, Limits, NodeContext, NodeIndex, Rpc, RunConfig, Scenario, Sim,
    StreamRng, System, WorkloadStep,
};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Per-call timeout, as the model uses; above any healthy round trip (at most 20 ms), so no call times out.
const CALL_TIMEOUT_MS: u64 = 250;

/// The one workload operation: call the server `calls` times, one after the other.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Operation {
    calls: u64,
}

/// A server that echoes a number and a client that calls it sequentially.
pub struct PingPong {
    /// Calls the client makes.
    pub calls: u64,
}

/// The booted ping-pong: its two nodes and whether the client is done.
pub struct PingPongSystem {
    sim: Sim,
    server: NodeIndex,
    client: NodeIndex,
    finished: Arc<AtomicBool>,
}

impl Scenario for PingPong {
    type Operation = Operation;
    type System = PingPongSystem;

    fn name(&self) -> &'static str {
        "ping-pong"
    }

    fn summary(&self) -> &'static str {
        "a client calls an echo server sequentially, with no faults"
    }

    fn default_limits(&self) -> Limits {
        // Every call traces a send and a deliver each way; the quiet phase ends when the client is done.
        let round_trip_ms_max = 2 * 10;
        Limits {
            chaos_ms: 100,
            heal_ms: 0,
            quiet_ms_max: self.calls * round_trip_ms_max + 1_000,
            settle_poll_ms: 1_000,
            events_max: self.calls * 4 + 1_000,
            ..Limits::default()
        }
    }

    fn fault_profile(&self) -> FaultProfile {
        FaultProfile::default()
    }

    fn generate_workload(&self, _rng: &mut StreamRng, _limits: &Limits) -> Vec<WorkloadStep<Operation>> {
        vec![WorkloadStep { at_ms: 0, operation: Operation { calls: self.calls } }]
    }

    fn boot(&self, sim: &Sim) -> PingPongSystem {
        let server = sim.add_node("server", |node: NodeContext| async move {
            let handler: fleetsim_sim::Handler<u64, u64> = Arc::new(|_, call| Box::pin(async move { call }));
            let _rpc = Rpc::<u64, u64>::bind(&node, Some(handler)).await;
            std::future::pending::<()>().await;
        });
        let client = sim.add_node("client", |_| async {});
        PingPongSystem { sim: sim.clone(), server, client, finished: Arc::new(AtomicBool::new(false)) }
    }
}

impl System for PingPongSystem {
    type Operation = Operation;

    fn client(&self) -> NodeIndex {
        self.client
    }

    fn issue(&self, operation: Operation) -> BoxFuture<()> {
        let node = NodeContext::new(self.sim.clone(), self.client);
        let (server, finished) = (self.server, self.finished.clone());
        Box::pin(async move {
            let rpc = Rpc::<u64, u64>::bind_client(&node).await;
            for call in 0..operation.calls {
                let reply = rpc.call(server, call, CALL_TIMEOUT_MS).await.expect("a healthy network answers");
                assert_eq!(reply, call, "the server echoes");
            }
            finished.store(true, Ordering::Relaxed);
        })
    }

    fn settled(&self) -> bool {
        self.finished.load(Ordering::Relaxed)
    }
}

/// Runs `calls` sequential calls in one fleetsim run, as `fleetsim run` does (the last events
/// kept for the outcome's tail); returns messages the RPC layer delivered. Never inlined, so
/// `callgrind --toggle-collect` finds it in the whole-program-optimized binary.
#[inline(never)]
pub fn ping_pong(seed: u64, calls: u64) -> u64 {
    ping_pong_with(RunConfig { strategy: FaultStrategy::None, ..RunConfig::new("ping-pong", seed) }, calls)
}

/// The same run as a campaign makes it (`tail_only_on_failure`: no trace event kept, every one
/// hashed). Never inlined, for the same reason.
#[inline(never)]
pub fn ping_pong_campaign(seed: u64, calls: u64) -> u64 {
    let config =
        RunConfig { strategy: FaultStrategy::None, tail_only_on_failure: true, ..RunConfig::new("ping-pong", seed) };
    ping_pong_with(config, calls)
}

fn ping_pong_with(config: RunConfig, calls: u64) -> u64 {
    let outcome = run(&PingPong { calls }, &config).expect("a generated plan fits");
    assert!(outcome.passed(), "the ping-pong run failed: {:?}", outcome.violations);
    assert_eq!(outcome.messages_delivered, 2 * calls, "one request and one reply per call");
    assert_eq!(
        outcome.trace_tail.is_empty(),
        config.tail_only_on_failure,
        "a campaign run keeps no tail, another does"
    );
    outcome.messages_delivered
}
