//! Properties: invariants checked always or eventually, and `sometimes` coverage goals.

use crate::outcome::ViolationClass;

/// A checker over the god's view of the world: `Ok` when it holds, evidence when not.
pub type Check = Box<dyn Fn() -> Result<(), String> + Send + Sync>;

/// A named invariant and when it is checked.
pub struct Invariant {
    /// The catalog name (`unique-ip`, `jobs-terminate`, ...).
    pub name: &'static str,
    /// `Safety` is checked after every state change; the others once the run has quieted.
    pub class: ViolationClass,
    /// The check itself.
    pub check: Check,
}

impl Invariant {
    /// An invariant that must hold after every state change.
    pub fn always(name: &'static str, check: impl Fn() -> Result<(), String> + Send + Sync + 'static) -> Self {
        Self { name, class: ViolationClass::Safety, check: Box::new(check) }
    }

    /// An invariant that must hold once faults stop and the quiet period ends.
    pub fn eventually(name: &'static str, check: impl Fn() -> Result<(), String> + Send + Sync + 'static) -> Self {
        Self { name, class: ViolationClass::Convergence, check: Box::new(check) }
    }

    /// A liveness invariant: something must have finished by the end of the quiet period.
    pub fn finishes(name: &'static str, check: impl Fn() -> Result<(), String> + Send + Sync + 'static) -> Self {
        Self { name, class: ViolationClass::Liveness, check: Box::new(check) }
    }

    /// Whether it is checked throughout the run.
    pub fn is_safety(&self) -> bool {
        self.class == ViolationClass::Safety
    }
}
