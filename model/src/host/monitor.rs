//! A VMM monitor: reports its VMM's state to the control plane with the instance
//! generation the VMM was registered with. It waits on the instance lock before it
//! observes, so it can report long after a newer start (seed 002's stale report).

use crate::calls::store_plain;
use crate::host::{Agent, VmmState};
use crate::ids::{InstanceId, VmmId};
use crate::store::{Transaction, VmmObservation};
use rand::Rng;

/// Longest wait for the VMM's initial state.
pub const INITIAL_STATE_MS_MAX: u64 = 100;
/// Pause between two observations.
pub const POLL_MS: u64 = 200;
/// Attempts to deliver one report before the monitor gives it up.
pub const REPORT_ATTEMPTS_MAX: u32 = 20;
/// Pause between two report attempts.
pub const REPORT_RETRY_MS: u64 = 100;
/// The delay point before a report: a monitor descheduled or stuck behind a lock reports
/// late, as seed 002's monitor did.
pub const REPORT_DELAY_POINT: &str = "monitor.before_report";

/// Starts the monitor of `vmm`; it dies with the agent process.
pub fn spawn(agent: Agent, instance: InstanceId, vmm: VmmId, generation: u64) {
    madsim::task::spawn(async move { watch(agent, instance, vmm, generation).await });
}

async fn watch(agent: Agent, instance: InstanceId, vmm: VmmId, generation: u64) {
    let initial_ms = agent.node.sim().model_rng(|rng| rng.gen_range(1..=INITIAL_STATE_MS_MAX));
    agent.node.sleep_ms(initial_ms).await;
    let mut reported = None;
    loop {
        let observation = {
            let lock = agent.process.instance_lock(instance);
            let _held = lock.lock().await;
            match agent.disk.read(|data| data.vmms.get(&vmm).map(|physical| physical.state)) {
                Some(VmmState::Running) => VmmObservation::Running,
                Some(VmmState::Registered) => VmmObservation::Running,
                None => VmmObservation::Destroyed,
            }
        };
        if reported != Some(observation) {
            report(&agent, instance, vmm, generation, observation).await;
            reported = Some(observation);
        }
        if observation == VmmObservation::Destroyed {
            return;
        }
        agent.node.sleep_ms(POLL_MS).await;
    }
}

async fn report(agent: &Agent, instance: InstanceId, vmm: VmmId, generation: u64, observation: VmmObservation) {
    let transaction = Transaction::ReportVmm { instance, vmm, generation, observation };
    agent.node.delay_point(REPORT_DELAY_POINT).await;
    for attempt in 1..=REPORT_ATTEMPTS_MAX {
        if store_plain(&agent.rpc, agent.store, transaction.clone()).await.is_ok() {
            agent.node.step(format!(
                "monitor reports {vmm} {} at generation {generation} (attempt {attempt})",
                observation.name()
            ));
            return;
        }
        agent.node.sleep_ms(REPORT_RETRY_MS).await;
    }
}
