//! What the harness checks of a scenario written outside fleetsim, and which faults reach which
//! traffic: a configuration for another scenario, an unknown bug, a fault profile or plan naming
//! a node the system lacks, and an undeclared invariant are refused with an error naming them; a
//! registry refuses to be inconsistent; partitions reach fleetsim's RPC layer but not plain
//! madsim sockets, which only crashes and pauses reach.

use fleetsim_sim::{
    run, BoxFuture, BugInfo, Fault, FaultKind, FaultPointPlan, FaultProfile, FaultWindow, Invariant, InvariantInfo,
    Limits, NodeContext, NodeIndex, Plan, Registry, RegistryError, Rpc, RunConfig, RunError, Scenario, Sim, StreamRng,
    System, ViolationClass, WorkloadStep,
};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;

/// The port plain madsim traffic uses, beside the RPC layer's.
const PLAIN_PORT: u16 = 9_000;
const PLAIN_TAG: u64 = 7;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Operation {
    /// One RPC call from the client to the server.
    Call,
    /// One datagram from the client to the server over a plain madsim endpoint.
    Datagram,
}

/// Two nodes, `server` and `client`; each field bends one thing the harness must check.
#[derive(Clone, Copy, Default)]
struct Echo {
    /// The fault profile names `sever` instead of `server`.
    misspelt_profile: bool,
    /// Boot registers an invariant `invariants()` does not declare.
    undeclared_invariant: bool,
}

struct EchoSystem {
    sim: Sim,
    server: NodeIndex,
    client: NodeIndex,
}

const ECHO_BUG: BugInfo = BugInfo {
    id: "echo-bug",
    incident: "none: a switch for the checks of the harness",
    story: "nothing changes",
    invariants: &["echo-alive"],
    scenario: "echo",
};

/// The server records each call and each datagram it receives as a step in the trace.
fn boot_server(sim: &Sim) -> NodeIndex {
    sim.add_node("server", move |node: NodeContext| async move {
        let context = node.clone();
        let handler: fleetsim_sim::Handler<(), ()> = Arc::new(move |_, ()| {
            context.step("call received");
            Box::pin(async {})
        });
        let _rpc = Rpc::<(), ()>::bind(&node, Some(handler)).await;
        let address = SocketAddr::new(node.sim().node_address(node.index()).ip(), PLAIN_PORT);
        let endpoint = madsim::net::Endpoint::bind(address).await.expect("the plain port is free");
        let mut buffer = [0u8; 8];
        while endpoint.recv_from(PLAIN_TAG, &mut buffer).await.is_ok() {
            node.step("datagram received");
        }
    })
}

impl Scenario for Echo {
    type Operation = Operation;
    type System = EchoSystem;

    fn name(&self) -> &'static str {
        "echo"
    }

    fn summary(&self) -> &'static str {
        "a client sends calls and datagrams to a server"
    }

    fn default_limits(&self) -> Limits {
        Limits { chaos_ms: 1_000, heal_ms: 50, quiet_ms_max: 200, ..Limits::default() }
    }

    fn fault_profile(&self) -> FaultProfile {
        let server = if self.misspelt_profile { "sever" } else { "server" };
        let crashable = vec![server.to_string()];
        FaultProfile::new(&FaultKind::ALL, crashable, vec![server.to_string(), "client".into()])
    }

    fn generate_workload(&self, _rng: &mut StreamRng, _limits: &Limits) -> Vec<WorkloadStep<Operation>> {
        Vec::new()
    }

    fn bugs(&self) -> Vec<BugInfo> {
        vec![ECHO_BUG]
    }

    fn invariants(&self) -> Vec<InvariantInfo> {
        vec![InvariantInfo { name: "echo-alive", kind: ViolationClass::Safety, summary: "always holds" }]
    }

    fn boot(&self, sim: &Sim) -> EchoSystem {
        let server = boot_server(sim);
        let client = sim.add_node("client", |_| async {});
        sim.register_invariant(Invariant::always("echo-alive", || Ok(())));
        if self.undeclared_invariant {
            sim.register_invariant(Invariant::always("echo-undeclared", || Ok(())));
        }
        EchoSystem { sim: sim.clone(), server, client }
    }
}

impl System for EchoSystem {
    type Operation = Operation;

    fn client(&self) -> NodeIndex {
        self.client
    }

    fn issue(&self, operation: Operation) -> BoxFuture<()> {
        let node = NodeContext::new(self.sim.clone(), self.client);
        let server = self.server;
        Box::pin(async move {
            match operation {
                Operation::Call => {
                    let rpc = Rpc::<(), ()>::bind_client(&node).await;
                    let _ = rpc.call(server, (), 50).await;
                }
                Operation::Datagram => {
                    let ip = node.sim().node_address(node.index()).ip();
                    let endpoint = madsim::net::Endpoint::bind(SocketAddr::new(ip, 0)).await.expect("a free port");
                    let to = SocketAddr::new(node.sim().node_address(server).ip(), PLAIN_PORT);
                    let _ = endpoint.send_to(to, PLAIN_TAG, &[1]).await;
                }
            }
        })
    }

    fn settled(&self) -> bool {
        true
    }
}

fn config(workload: Vec<(u64, Operation)>, faults: Vec<FaultWindow>) -> RunConfig {
    let workload = workload.into_iter().map(|(at_ms, operation)| WorkloadStep { at_ms, operation }).collect();
    let plan = Plan { workload, faults, fault_points: FaultPointPlan::off() };
    let mut config = RunConfig::new("echo", 3);
    config.plan = Some(serde_json::to_value(plan).unwrap());
    config.keep_full_trace = true;
    config
}

fn window(start_ms: u64, duration_ms: u64, fault: Fault) -> FaultWindow {
    FaultWindow { start_ms, duration_ms, fault }
}

#[test]
fn a_config_for_another_scenario_is_refused_not_mislabelled() {
    let error = run(&Echo::default(), &RunConfig::new("smoke", 1)).unwrap_err();
    assert!(matches!(&error, RunError::ScenarioMismatch { expected, given } if expected == "echo" && given == "smoke"));
    assert!(error.to_string().contains("'smoke'") && error.to_string().contains("'echo'"), "{error}");
}

#[test]
fn a_misspelt_bug_is_refused_not_run_as_the_fixed_system() {
    let error = run(&Echo::default(), &RunConfig::new("echo", 1).with_bug("echo-bgu")).unwrap_err();
    assert!(matches!(&error, RunError::UnknownBug { bug, .. } if bug == "echo-bgu"), "{error}");
    assert!(error.to_string().contains("known: echo-bug"), "{error}");
    assert!(run(&Echo::default(), &RunConfig::new("echo", 1).with_bug("echo-bug")).is_ok());
}

#[test]
fn a_fault_profile_or_plan_naming_a_missing_node_is_refused() {
    let misspelt = Echo { misspelt_profile: true, ..Echo::default() };
    let error = run(&misspelt, &RunConfig::new("echo", 1)).unwrap_err();
    assert!(matches!(&error, RunError::UnknownNode { place: "fault profile", node, .. } if node == "sever"), "{error}");
    assert!(error.to_string().contains("nodes: server, client"), "{error}");
    let crash_of_nobody = config(vec![], vec![window(10, 10, Fault::Crash { node: "nobody".into() })]);
    let error = run(&Echo::default(), &crash_of_nobody).unwrap_err();
    assert!(matches!(&error, RunError::UnknownNode { place: "plan", node, .. } if node == "nobody"), "{error}");
}

#[test]
fn an_invariant_registered_but_not_declared_is_refused() {
    let undeclared = Echo { undeclared_invariant: true, ..Echo::default() };
    let error = run(&undeclared, &RunConfig::new("echo", 1)).unwrap_err();
    assert!(matches!(&error, RunError::UndeclaredInvariant { invariant, .. } if invariant == "echo-undeclared"));
}

#[test]
fn a_registry_serves_any_scenario_and_refuses_to_be_inconsistent() {
    let registry = Registry::new("echo-sim").with(Echo::default());
    assert_eq!((registry.check(), registry.scenario_names()), (Ok(()), vec!["echo"]));
    assert_eq!(registry.bug("echo-bug").map(|bug| bug.scenario).ok(), Some("echo"));
    assert!(registry.invariants().iter().any(|invariant| invariant.name == "echo-alive"));
    assert!(registry.invariants().iter().any(|invariant| invariant.name == "panic"));
    assert!(registry.run(&RunConfig::new("echo", 1)).unwrap().passed());
    assert!(matches!(registry.run(&RunConfig::new("ohce", 1)), Err(RunError::UnknownScenario { .. })));
    let twice = Registry::new("echo-sim").with(Echo::default()).with(Echo::default());
    assert_eq!(twice.check(), Err(RegistryError::DuplicateScenario { name: "echo".into() }));
    assert_eq!(Registry::new("empty").check(), Err(RegistryError::Empty));
    assert!(matches!(Registry::new("homeless").with(Homeless).check(), Err(RegistryError::BugWithoutHome { .. })));
}

/// A scenario whose bug names a home scenario nobody registered.
struct Homeless;

impl Scenario for Homeless {
    type Operation = Operation;
    type System = EchoSystem;

    fn name(&self) -> &'static str {
        "homeless"
    }
    fn summary(&self) -> &'static str {
        "declares a bug at home elsewhere"
    }
    fn default_limits(&self) -> Limits {
        Echo::default().default_limits()
    }
    fn fault_profile(&self) -> FaultProfile {
        Echo::default().fault_profile()
    }
    fn generate_workload(&self, rng: &mut StreamRng, limits: &Limits) -> Vec<WorkloadStep<Operation>> {
        Echo::default().generate_workload(rng, limits)
    }
    fn bugs(&self) -> Vec<BugInfo> {
        vec![ECHO_BUG]
    }
    fn boot(&self, sim: &Sim) -> EchoSystem {
        Echo::default().boot(sim)
    }
}

fn received(outcome: &fleetsim_sim::Outcome, what: &str) -> usize {
    outcome.trace_tail.iter().filter(|event| event.detail == what).count()
}

#[test]
fn partitions_reach_rpc_calls_but_not_plain_madsim_sockets() {
    let every_20_ms = |operation| (0..10).map(move |step| (100 + step * 20, operation));
    let workload: Vec<(u64, Operation)> =
        every_20_ms(Operation::Call).chain(every_20_ms(Operation::Datagram)).collect();
    let calm = run(&Echo::default(), &config(workload.clone(), vec![])).unwrap();
    assert_eq!((received(&calm, "call received"), received(&calm, "datagram received")), (10, 10));
    let network_down = vec![window(50, 500, Fault::NetworkDown)];
    let partitioned = run(&Echo::default(), &config(workload.clone(), network_down)).unwrap();
    assert_eq!((received(&partitioned, "call received"), received(&partitioned, "datagram received")), (0, 10));
    let crashed = vec![window(50, 500, Fault::Crash { node: "server".into() })];
    let crashed = run(&Echo::default(), &config(workload, crashed)).unwrap();
    assert_eq!((received(&crashed, "call received"), received(&crashed, "datagram received")), (0, 0));
}
