//! A hypervisor host and its agent. What runs on the host is physical, durable state: it
//! survives a crash of the agent process; the agent's in-flight requests do not.

use crate::ids::{Ip, VmId};
use crate::message::{Reply, Request};
use fleetsim_sim::{Disk, Handler, NodeContext};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A VM as it runs on a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhysicalVm {
    /// The VM.
    pub vm: VmId,
    /// The address it answers on.
    pub ip: Ip,
}

/// Everything physically on one host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostData {
    /// Running VMs by id.
    pub vms: BTreeMap<VmId, PhysicalVm>,
}

/// A request to a hypervisor agent.
#[derive(Clone, Debug)]
pub enum HostRequest {
    /// Start `vm` on `ip`; a VM already there with that address is success.
    CreateVm {
        /// The VM.
        vm: VmId,
        /// Its address.
        ip: Ip,
    },
    /// Destroy `vm`.
    DestroyVm {
        /// The VM.
        vm: VmId,
    },
}

/// Why an agent refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostError {
    /// No such VM on this host.
    NotFound,
    /// The VM exists with another address.
    Conflict,
}

/// An agent's reply.
#[derive(Clone, Debug)]
pub enum HostReply {
    /// Done.
    Done,
    /// Refused; nothing changed.
    Refused(HostError),
}

impl HostData {
    /// Runs one request against the host.
    pub fn apply(&mut self, request: HostRequest) -> HostReply {
        match request {
            HostRequest::CreateVm { vm, ip } => match self.vms.get(&vm) {
                Some(existing) if existing.ip == ip => HostReply::Done,
                Some(_) => HostReply::Refused(HostError::Conflict),
                None => {
                    self.vms.insert(vm, PhysicalVm { vm, ip });
                    HostReply::Done
                }
            },
            HostRequest::DestroyVm { vm } => match self.vms.remove(&vm) {
                Some(_) => HostReply::Done,
                None => HostReply::Refused(HostError::NotFound),
            },
        }
    }
}

/// The agent's request handler.
pub fn host_handler(context: NodeContext, disk: Disk<HostData>) -> Handler<Request, Reply> {
    Arc::new(move |_caller, request| {
        let reply = match request {
            Request::Host(request) => Reply::Host(disk.commit(&context, |data| data.apply(request))),
            Request::Store(_) => Reply::Unsupported,
        };
        Box::pin(async move { reply })
    })
}
