//! The god's view of what each node believes: which peers each store node sees up, and which
//! agents are registered with a coordinator. Nodes write their own entry; `settled` reads them.

use super::ring::STORE_NODES;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug)]
struct Beliefs {
    reachable: Vec<[bool; STORE_NODES]>,
    agents_registered: Vec<bool>,
}

/// What the nodes believe; cheap to clone.
#[derive(Clone, Debug)]
pub struct Status {
    beliefs: Arc<Mutex<Beliefs>>,
}

impl Status {
    /// Nothing believed yet, for `agents` agents.
    pub fn new(agents: usize) -> Self {
        let beliefs =
            Beliefs { reachable: vec![[false; STORE_NODES]; STORE_NODES], agents_registered: vec![false; agents] };
        Self { beliefs: Arc::new(Mutex::new(beliefs)) }
    }

    fn beliefs(&self) -> MutexGuard<'_, Beliefs> {
        self.beliefs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Store node `node` now sees the peers in `reachable` up.
    pub fn set_reachable(&self, node: usize, reachable: [bool; STORE_NODES]) {
        self.beliefs().reachable[node] = reachable;
    }

    /// Agent `agent` is (or is no longer) registered with a coordinator.
    pub fn set_registered(&self, agent: usize, registered: bool) {
        self.beliefs().agents_registered[agent] = registered;
    }

    /// Whether every store node sees every other up and every agent is registered.
    pub fn all_connected(&self) -> bool {
        let beliefs = self.beliefs();
        beliefs.reachable.iter().all(|view| view.iter().all(|up| *up)) && beliefs.agents_registered.iter().all(|up| *up)
    }
}
