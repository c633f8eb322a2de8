//! A VM's inventory record: a map of fields, each a last-writer-wins register, merged as a
//! state-based CRDT. Merging is commutative, associative and idempotent, so replicas that diverged
//! entirely (a whole-network outage) merge without losing a field.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One field of a VM's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The hypervisor the VM runs on; written by its agent at registration.
    Hypervisor,
    /// The VM's name; written by its agent.
    Alias,
    /// Memory in MiB; written by its agent.
    RamMb,
    /// Running or stopped; written by its agent at registration and in state updates.
    State,
    /// The package (size and price plan) the control plane assigned; the agent never knows it.
    Package,
    /// The tenant organization the VM belongs to; the agent never knows it.
    Organization,
}

impl Field {
    /// Every field, in a stable order.
    pub const ALL: [Field; 6] =
        [Field::Hypervisor, Field::Alias, Field::RamMb, Field::State, Field::Package, Field::Organization];

    /// The field's name in traces and evidence.
    pub fn name(self) -> &'static str {
        match self {
            Field::Hypervisor => "hypervisor",
            Field::Alias => "alias",
            Field::RamMb => "ram_mb",
            Field::State => "state",
            Field::Package => "package",
            Field::Organization => "organization",
        }
    }
}

/// Which write a register holds: the writer's clock, the writer, and a unique write number, in
/// that order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// The writer's clock when it wrote, in milliseconds.
    pub at_ms: u64,
    /// The writer's node position.
    pub writer: u32,
    /// A number no other write of the run has.
    pub write: u64,
}

impl fmt::Display for Stamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}ms#{}", self.at_ms, self.write)
    }
}

/// A last-writer-wins register: one value and the stamp of the write that put it there.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Register {
    /// The stamp of the winning write.
    pub stamp: Stamp,
    /// The value it wrote.
    pub value: String,
}

/// A VM's record: the fields written so far. An update is a record of the fields it writes, and
/// applying it is a merge.
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Record {
    fields: BTreeMap<Field, Register>,
}

impl Record {
    /// A record holding `fields`, each written at `stamp`.
    pub fn written(stamp: Stamp, fields: &[(Field, String)]) -> Self {
        let fields = fields.iter().map(|(field, value)| (*field, Register { stamp, value: value.clone() })).collect();
        Self { fields }
    }

    /// The register of `field`, if it was ever written.
    pub fn get(&self, field: Field) -> Option<&Register> {
        self.fields.get(&field)
    }

    /// Every written field and its register, in field order.
    pub fn fields(&self) -> impl Iterator<Item = (Field, &Register)> {
        self.fields.iter().map(|(field, register)| (*field, register))
    }

    /// Merges `other` in: each field keeps the register with the greater stamp (the greater value
    /// on equal stamps, so the result never depends on the order). Whether anything changed.
    pub fn merge(&mut self, other: &Record) -> bool {
        let mut changed = false;
        for (field, incoming) in &other.fields {
            match self.fields.get_mut(field) {
                Some(held) if *held >= *incoming => {}
                Some(held) => {
                    *held = incoming.clone();
                    changed = true;
                }
                None => {
                    self.fields.insert(*field, incoming.clone());
                    changed = true;
                }
            }
        }
        changed
    }

    /// The merge of `self` and `other`, leaving both as they are.
    pub fn merged(&self, other: &Record) -> Record {
        let mut merged = self.clone();
        merged.merge(other);
        merged
    }

    /// Whether `self` holds everything `other` does: merging `other` in would change nothing.
    pub fn covers(&self, other: &Record) -> bool {
        other.fields.iter().all(|(field, incoming)| self.fields.get(field).is_some_and(|held| held >= incoming))
    }

    /// A hash of the record for anti-entropy: equal records hash equal (FNV-1a over the fields,
    /// stable across runs and platforms).
    pub fn digest(&self) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for byte in bytes {
                hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        for (field, register) in &self.fields {
            eat(&[*field as u8]);
            eat(&register.stamp.at_ms.to_le_bytes());
            eat(&register.stamp.writer.to_le_bytes());
            eat(&register.stamp.write.to_le_bytes());
            eat(register.value.as_bytes());
            eat(&[0xff]);
        }
        hash
    }
}

/// `{package=package-2@1200ms#41, state=running@1300ms#52}`: each field's value and stamp.
impl fmt::Debug for Record {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("{")?;
        for (position, (field, register)) in self.fields.iter().enumerate() {
            let separator = if position == 0 { "" } else { ", " };
            write!(formatter, "{separator}{}={}@{}", field.name(), register.value, register.stamp)?;
        }
        formatter.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stamp(at_ms: u64, write: u64) -> Stamp {
        Stamp { at_ms, writer: 1, write }
    }

    #[test]
    fn a_merge_keeps_the_newer_register_of_each_field_and_every_field_of_either_side() {
        let mut held = Record::written(stamp(10, 1), &[(Field::Package, "package-1".into())]);
        let registration = Record::written(stamp(20, 2), &[(Field::Hypervisor, "host-1".into())]);
        assert!(held.merge(&registration));
        assert_eq!(held.get(Field::Package).map(|register| register.value.as_str()), Some("package-1"));
        assert_eq!(held.get(Field::Hypervisor).map(|register| register.value.as_str()), Some("host-1"));
        let older = Record::written(stamp(5, 3), &[(Field::Package, "package-9".into())]);
        assert!(!held.merge(&older), "an older write changes nothing");
        assert!(held.covers(&older) && held.covers(&registration) && !registration.covers(&held));
        assert_eq!(format!("{held:?}"), "{hypervisor=host-1@20ms#2, package=package-1@10ms#1}");
    }

    fn field() -> impl Strategy<Value = Field> {
        prop::sample::select(Field::ALL.to_vec())
    }

    /// Records over few stamps and values, so that equal stamps and equal values both occur.
    fn record() -> impl Strategy<Value = Record> {
        let register = (0u64..4, 0u32..2, 0u64..3, "[ab]")
            .prop_map(|(at_ms, writer, write, value)| Register { stamp: Stamp { at_ms, writer, write }, value });
        prop::collection::btree_map(field(), register, 0..4).prop_map(|fields| Record { fields })
    }

    proptest! {
        #[test]
        fn merge_is_commutative(a in record(), b in record()) {
            prop_assert_eq!(a.merged(&b), b.merged(&a));
        }

        #[test]
        fn merge_is_associative(a in record(), b in record(), c in record()) {
            prop_assert_eq!(a.merged(&b).merged(&c), a.merged(&b.merged(&c)));
        }

        #[test]
        fn merge_is_idempotent(a in record(), b in record()) {
            let once = a.merged(&b);
            prop_assert_eq!(once.merged(&b), once.clone());
            prop_assert_eq!(a.merged(&a), a.clone());
        }

        #[test]
        fn a_merge_covers_both_sides_and_loses_no_field(a in record(), b in record()) {
            let merged = a.merged(&b);
            prop_assert!(merged.covers(&a) && merged.covers(&b));
            for (field, _) in a.fields().chain(b.fields()) {
                prop_assert!(merged.get(field).is_some());
            }
            prop_assert_eq!(merged.digest() == a.digest(), merged == a);
        }
    }
}
