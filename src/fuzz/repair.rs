//! Resume's repairs: run records and failure reports that a damaged folder lost, written again
//! by re-running their runs. Runs are deterministic, so the lines and reports come back exactly
//! as they were; a re-run that does not give the failure the checkpoint counts is refused.

use crate::fuzz::campaign::{run_position, with_tail, write_report};
use crate::fuzz::record::{RecordFile, RecordedRun};
use crate::fuzz::spec::CampaignSpec;
use crate::fuzz::tally::{FailureEntry, RunRecord, Tally};
use crate::report::failure::FailureReport;
use fleetsim_sim::{Outcome, Registry};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// What a resumed campaign must write again before it continues.
#[derive(Debug, Default)]
pub struct Repairs {
    /// Counted positions without a record line.
    pub records: Vec<u64>,
    /// Kept failures whose report is missing, unreadable or of another run.
    pub reports: Vec<FailureEntry>,
}

impl Repairs {
    /// Whether nothing needs writing again.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.reports.is_empty()
    }
}

/// The kept failures of `tally` whose report in `folder` is missing, unreadable, or not the
/// report of that failure's run.
pub fn lost_reports(folder: &Path, tally: &Tally, registry: &Registry) -> Vec<FailureEntry> {
    let intact = |entry: &FailureEntry| {
        FailureReport::load(&folder.join(&entry.report), registry)
            .is_ok_and(|report| report.signature == entry.signature && report.seed == entry.seed)
    };
    tally.distinct.values().filter(|entry| !intact(entry)).cloned().collect()
}

/// One repair under way: what to write again, and where.
struct Repair<'inputs> {
    registry: &'inputs Registry,
    spec: &'inputs CampaignSpec,
    folder: &'inputs Path,
    records: &'inputs [u64],
    reports: BTreeMap<u64, &'inputs FailureEntry>,
}

/// Re-runs every position `repairs` names on `jobs` threads, appending the missing record lines
/// to `record` and writing the lost reports again into `folder`.
pub fn repair(
    registry: &Registry,
    spec: &CampaignSpec,
    folder: &Path,
    record: Option<&mut RecordFile>,
    repairs: &Repairs,
    jobs: usize,
) -> Result<(), String> {
    let reports = repairs.reports.iter().map(|entry| (entry.item, entry)).collect();
    let repair = Repair { registry, spec, folder, records: &repairs.records, reports };
    let mut items: Vec<u64> = repair.records.iter().chain(repair.reports.keys()).copied().collect();
    items.sort_unstable();
    items.dedup();
    let next = AtomicUsize::new(0);
    // The record file, and the first error, which stops every thread.
    let sink: Mutex<(Option<&mut RecordFile>, Option<String>)> = Mutex::new((record, None));
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                while let Some(&item) = items.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let outcome = run_position(registry, spec, item);
                    let mut sink = sink.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    let (record, error) = &mut *sink;
                    if error.is_some() {
                        return;
                    }
                    if let Err(failed) = repair.write_again(item, &outcome, record.as_deref_mut()) {
                        *error = Some(failed);
                    }
                }
            });
        }
    });
    let (_, error) = sink.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    error.map_or(Ok(()), Err)
}

impl Repair<'_> {
    /// Writes the record line and the report of position `item`, as far as each was lost.
    fn write_again(&self, item: u64, outcome: &Outcome, record: Option<&mut RecordFile>) -> Result<(), String> {
        let run = RunRecord::of(item, outcome);
        if let Some(entry) = self.reports.get(&item) {
            if run.signature.as_ref() != Some(&entry.signature) {
                return Err(format!(
                    "cannot resume: re-running {} seed {:#x} to write its lost report {} again did not fail as the checkpoint says ({}); the folder was written by another build, or the run is not deterministic",
                    run.scenario,
                    run.seed,
                    self.folder.join(&entry.report).display(),
                    entry.signature.file_stem()
                ));
            }
            let outcome = with_tail(self.registry, &self.spec.run_config(item), outcome);
            let written = write_report(self.registry.program(), self.folder, &outcome, self.spec.strategy)?;
            debug_assert_eq!(written, entry.report);
        }
        if let (Ok(_), Some(file)) = (self.records.binary_search(&item), record) {
            file.append(&RecordedRun::of(self.registry.program(), &run, outcome, self.spec.strategy))?;
        }
        Ok(())
    }
}
