//! Shards: disjoint slices of a campaign's seeds, one per machine or batch task.

use serde::{Deserialize, Serialize};
use std::ops::Range;

/// The `index`-th (from 0) of `count` disjoint slices of a campaign's seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    /// Which slice, from 0.
    pub index: u64,
    /// How many slices.
    pub count: u64,
}

impl Shard {
    /// The whole campaign as one slice.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N` with `I < N`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let malformed = || format!("malformed shard '{text}' (expected I/N with 0 <= I < N, e.g. 0/4)");
        let (index, count) = text.split_once('/').ok_or_else(malformed)?;
        let index: u64 = index.trim().parse().map_err(|_| malformed())?;
        let count: u64 = count.trim().parse().map_err(|_| malformed())?;
        Self::checked(index, count).ok_or_else(malformed)
    }

    fn checked(index: u64, count: u64) -> Option<Self> {
        (count > 0 && index < count).then_some(Self { index, count })
    }

    /// The shard a batch engine assigned through the environment, if any:
    /// `JOB_COMPLETION_INDEX` with `FLEETSIM_SHARDS` (Kubernetes Indexed Job), or
    /// `SLURM_ARRAY_TASK_ID` with `SLURM_ARRAY_TASK_COUNT` (and `SLURM_ARRAY_TASK_MIN`).
    pub fn from_environment(variable: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let number = |name: &str| -> Result<Option<u64>, String> {
            match variable(name) {
                None => Ok(None),
                Some(text) => {
                    text.trim().parse().map(Some).map_err(|_| format!("{name}='{text}' is not a whole number"))
                }
            }
        };
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let count = number("FLEETSIM_SHARDS")?
                .ok_or("JOB_COMPLETION_INDEX is set but FLEETSIM_SHARDS (the Job's completions) is not")?;
            return Self::checked(index, count)
                .map(Some)
                .ok_or_else(|| format!("JOB_COMPLETION_INDEX={index} is not below FLEETSIM_SHARDS={count}"));
        }
        if let Some(task) = number("SLURM_ARRAY_TASK_ID")? {
            let count = number("SLURM_ARRAY_TASK_COUNT")?
                .ok_or("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")?;
            let first = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = task.checked_sub(first).ok_or("SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN")?;
            return Self::checked(index, count).map(Some).ok_or_else(|| {
                format!("Slurm array task {index} (from 0) is not below SLURM_ARRAY_TASK_COUNT={count}")
            });
        }
        Ok(None)
    }

    /// This slice of `0..seeds`: contiguous, disjoint from the others, sizes differing by at most one.
    pub fn seed_offsets(&self, seeds: u64) -> Range<u64> {
        let bound = |index: u64| (u128::from(seeds) * u128::from(index) / u128::from(self.count)) as u64;
        bound(self.index)..bound(self.index + 1)
    }
}

/// Shards as `0/4, 2/4`.
pub fn shard_list(shards: &[Shard]) -> String {
    shards.iter().map(Shard::to_string).collect::<Vec<_>>().join(", ")
}

impl std::fmt::Display for Shard {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn shards_cover_the_seeds_exactly_once() {
        for (seeds, count) in [(10, 3), (7, 7), (3, 5), (100_000, 64)] {
            let mut next = 0;
            for index in 0..count {
                let range = Shard { index, count }.seed_offsets(seeds);
                assert_eq!(range.start, next);
                next = range.end;
            }
            assert_eq!(next, seeds);
        }
    }

    #[test]
    fn shards_parse_from_flags_and_batch_environments() {
        assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1", "a/2", "0/0", "-1/2"] {
            assert!(Shard::parse(bad).unwrap_err().contains(bad), "{bad}");
        }
        let environment = |pairs: &[(&str, &str)]| {
            let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            Shard::from_environment(move |name| map.get(name).cloned())
        };
        assert_eq!(environment(&[]), Ok(None));
        assert_eq!(
            environment(&[("JOB_COMPLETION_INDEX", "2"), ("FLEETSIM_SHARDS", "3")]),
            Ok(Some(Shard { index: 2, count: 3 }))
        );
        assert!(environment(&[("JOB_COMPLETION_INDEX", "2")]).unwrap_err().contains("FLEETSIM_SHARDS"));
        assert!(environment(&[("JOB_COMPLETION_INDEX", "3"), ("FLEETSIM_SHARDS", "3")]).is_err());
        assert_eq!(
            environment(&[
                ("SLURM_ARRAY_TASK_ID", "5"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "2")
            ]),
            Ok(Some(Shard { index: 3, count: 4 }))
        );
    }
}
