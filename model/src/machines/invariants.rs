//! The machine platform's invariants, judged from what tenants were told (the ledger), what the
//! hosts' disks hold, which host nodes run, and the catalog.

use super::catalog::{Catalog, DeployState, HostStatus};
use super::host_disk::HostDisk;
use super::ledger::Ledger;
use super::roster::Roster;
use crate::ids::{HostId, Ip, MachineId};
use fleetsim_sim::{Disk, Invariant, InvariantInfo, NodeStatus, Sim, ViolationClass};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Every invariant the platform registers at boot, as `list` shows it.
pub const CATALOG: &[InvariantInfo] = &[
    InvariantInfo {
        name: "no-undead",
        kind: ViolationClass::Safety,
        summary: "a machine destroyed through the API runs on a reachable host no longer than the grace window, and is never routed a request after its destroy was acknowledged",
    },
    InvariantInfo {
        name: "unique-ip",
        kind: ViolationClass::Safety,
        summary: "no two machines on hosts that exist hold the same address, however long a host was gone",
    },
    InvariantInfo {
        name: "deploys-finish",
        kind: ViolationClass::Liveness,
        summary: "every deploy is done, or failed naming the machine that blocks it, by the end of the quiet period",
    },
    InvariantInfo {
        name: "config-answered",
        kind: ViolationClass::Safety,
        summary: "GetMachine answers config or incomplete_config, never neither; a full config only from a reachable host, and as the machine was created",
    },
];

/// What the checkers read.
#[derive(Clone)]
pub struct View {
    /// The run's world (for node status and time).
    pub sim: Sim,
    /// Every node.
    pub roster: Arc<Roster>,
    /// Every host's disk, by host number.
    pub hosts: Vec<Disk<HostDisk>>,
    /// The control plane's catalog.
    pub catalog: Disk<Catalog>,
    /// What tenants were told.
    pub ledger: Ledger,
    /// The grace window of undead running.
    pub undead_grace_ms: u64,
}

impl View {
    /// Whether `host`'s node runs (a paused, crashed or lost host runs no machine).
    fn host_up(&self, host: HostId) -> bool {
        self.sim.node_status(self.roster.host(host)) == NodeStatus::Up
    }

    /// Whether a machine whose destroy a tenant was told of still runs on its host.
    pub fn destroyed_machine_runs(&self) -> bool {
        self.ledger.destroys().iter().any(|(machine, destroy)| self.runs(destroy.host, *machine))
    }

    /// Whether `machine` runs on `host` now.
    fn runs(&self, host: HostId, machine: MachineId) -> bool {
        self.host_up(host)
            && self.hosts[host.0 as usize]
                .read_durable(|disk| disk.machines.get(&machine).is_some_and(|hosted| hosted.running))
    }
}

/// `no-undead`: see [`CATALOG`].
pub fn no_undead(view: View) -> Invariant {
    Invariant::always("no-undead", move || {
        let now_ms = view.sim.now_ms();
        let destroys = view.ledger.destroys();
        for (machine, destroy) in &destroys {
            let Some(reachable_ms) = view.ledger.reachable_since(destroy.host) else { continue };
            if !view.runs(destroy.host, *machine) {
                continue;
            }
            let since_ms = destroy.at_ms.max(reachable_ms);
            if now_ms.saturating_sub(since_ms) > view.undead_grace_ms {
                return Err(format!(
                    "{machine}'s destroy was acknowledged at {} ms, and it still runs on {}, reachable since {reachable_ms} ms: undead for {} ms, past the {} ms grace window",
                    destroy.at_ms,
                    destroy.host,
                    now_ms - since_ms,
                    view.undead_grace_ms
                ));
            }
        }
        for served in view.ledger.served_requests() {
            if let Some(destroy) = destroys.get(&served.machine).filter(|destroy| destroy.at_ms <= served.routed_at_ms)
            {
                return Err(format!(
                    "{} served a request at {} ms that the control plane routed to it at {} ms, after its destroy was acknowledged at {} ms",
                    served.machine, served.at_ms, served.routed_at_ms, destroy.at_ms
                ));
            }
        }
        Ok(())
    })
}

/// `unique-ip`: see [`CATALOG`].
pub fn unique_ip(view: View) -> Invariant {
    Invariant::always("unique-ip", move || {
        let mut holders: BTreeMap<Ip, (MachineId, HostId)> = BTreeMap::new();
        for (number, disk) in view.hosts.iter().enumerate() {
            let host = HostId(number as u32);
            if view.sim.node_status(view.roster.host(host)) == NodeStatus::Lost {
                continue;
            }
            let held: Vec<(MachineId, Ip)> =
                disk.read_durable(|disk| disk.machines.iter().map(|(id, hosted)| (*id, hosted.ip)).collect());
            for (machine, ip) in held {
                if let Some((other, other_host)) = holders.insert(ip, (machine, host)) {
                    return Err(format!("{ip} is held by {other} on {other_host} and by {machine} on {host}"));
                }
            }
        }
        Ok(())
    })
}

/// `deploys-finish`: see [`CATALOG`].
pub fn deploys_finish(view: View) -> Invariant {
    Invariant::finishes("deploys-finish", move || {
        let catalog = view.catalog.read_durable(Catalog::clone);
        for (id, deploy) in &catalog.deploys {
            match &deploy.state {
                DeployState::Done => {}
                DeployState::Failed(why) if why.contains("m-") => {}
                DeployState::Failed(why) => {
                    return Err(format!("{id} of {} failed without naming a machine: {why}", deploy.app))
                }
                DeployState::Running => {
                    let behind: Vec<String> = catalog
                        .alive_machines(deploy.app)
                        .into_iter()
                        .filter(|machine| catalog.machines[machine].incomplete.release < deploy.release)
                        .map(|machine| {
                            let host = catalog.machines[&machine].host;
                            format!("{machine} on {host} ({})", catalog.host_status(host))
                        })
                        .collect();
                    return Err(format!(
                        "{id} of {} to release {} still runs after the quiet period; behind, in deploy order: {}",
                        deploy.app,
                        deploy.release,
                        if behind.is_empty() { "none".to_string() } else { behind.join(", ") }
                    ));
                }
            }
        }
        Ok(())
    })
}

/// `config-answered`: see [`CATALOG`].
pub fn config_answered(ledger: Ledger) -> Invariant {
    Invariant::always("config-answered", move || {
        for answer in ledger.answers() {
            let machine = &answer.view;
            let told = format!("GetMachine {} at {} ms", machine.id, answer.at_ms);
            match (&machine.config, &machine.incomplete_config) {
                (None, None) => return Err(format!("{told} answered neither config nor incomplete_config")),
                (Some(_), Some(_)) => return Err(format!("{told} answered both config and incomplete_config")),
                (Some(_), None) if machine.host_status == HostStatus::Unreachable => {
                    return Err(format!("{told} answered a full config with host_status unreachable"))
                }
                (Some(config), None) => {
                    let created = ledger.created_config(machine.id);
                    if created
                        .as_ref()
                        .is_none_or(|created| created.secret != config.secret || created.app != config.app)
                    {
                        return Err(format!(
                            "{told} answered {config:?}, not the configuration it was created with ({created:?})"
                        ));
                    }
                }
                (None, Some(_)) => {}
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machines::catalog::MachineState;
    use crate::machines::config::{App, MachineConfig};
    use crate::machines::protocol::MachineView;

    fn answer(host_status: HostStatus, config: Option<MachineConfig>, incomplete: bool) -> MachineView {
        let created = MachineConfig { app: App::Web, release: 1, memory_mb: 256, secret: "secret-of-m-1".into() };
        MachineView {
            id: MachineId(1),
            state: MachineState::Started,
            host: HostId(0),
            host_status,
            config,
            incomplete_config: incomplete.then(|| created.scrubbed()),
            volume: None,
        }
    }

    #[test]
    fn config_answered_fires_on_each_broken_answer_and_not_on_the_two_good_ones() {
        let created = MachineConfig { app: App::Web, release: 1, memory_mb: 256, secret: "secret-of-m-1".into() };
        let forged = MachineConfig { secret: "someone-else's".into(), ..created.clone() };
        let verdict = |view: MachineView| {
            let ledger = Ledger::default();
            ledger.created(MachineId(1), created.clone());
            ledger.answered(view, 10);
            (config_answered(ledger).check)()
        };
        assert_eq!(verdict(answer(HostStatus::Ok, Some(created.clone()), false)), Ok(()));
        assert_eq!(verdict(answer(HostStatus::Unreachable, None, true)), Ok(()));
        let broken = [
            (answer(HostStatus::Unreachable, None, false), "neither config nor incomplete_config"),
            (answer(HostStatus::Ok, Some(created.clone()), true), "both config and incomplete_config"),
            (answer(HostStatus::Unreachable, Some(created.clone()), false), "with host_status unreachable"),
            (answer(HostStatus::Ok, Some(forged), false), "not the configuration it was created with"),
        ];
        for (view, evidence) in broken {
            let said = verdict(view).unwrap_err();
            assert!(said.starts_with("GetMachine m-1 at 10 ms") && said.contains(evidence), "{said}");
        }
    }
}
