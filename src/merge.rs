//! `fleetsim merge DIR... --out DIR`: one summary and the union of failure reports from shards.

use crate::cli::MergeArguments;
use crate::fuzz::checkpoint::CHECKPOINT_FILE;
use crate::fuzz::record::RECORD_FILE;
use crate::fuzz::shard::{shard_list, Shard};
use crate::fuzz::tally::Tally;
use crate::lock::FolderLock;
use crate::report::summary::{Summary, SummaryContext};
use crate::{EXIT_PASS, EXIT_VIOLATION};
use fleetsim_sim::Registry;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Merges shard folders of one campaign of `registry`'s scenarios into `--out`: exit 0 without
/// failure, 1 with failures; a set with missing shards is refused unless `--allow-partial`.
pub fn merge(arguments: &MergeArguments, registry: &Registry) -> Result<u8, String> {
    let folders: Vec<PathBuf> = arguments.folders.iter().map(PathBuf::from).collect();
    let out = PathBuf::from(&arguments.out);
    check_output_folder(&out, &folders)?;
    // Held until the merge is done: no campaign or resume writes a shard while it is read.
    let _inputs: Vec<Option<FolderLock>> =
        folders.iter().map(|folder| FolderLock::hold_to_read(folder)).collect::<Result<_, _>>()?;
    let summaries: Vec<Summary> = folders.iter().map(|folder| Summary::load(folder)).collect::<Result<_, _>>()?;
    check_same_campaign(&summaries, &folders)?;
    let (shards, shards_missing) = shards_of(&summaries);
    if !shards_missing.is_empty() && !arguments.allow_partial {
        return Err(format!(
            "the folders hold shards {} of {}; shards {} are missing (pass --allow-partial to merge the others)",
            shard_list(&shards),
            shards[0].count,
            shard_list(&shards_missing)
        ));
    }
    let (tally, sources) = merged_tally(&summaries, &folders);
    // Held until the merged outputs are written: one process per output folder.
    let _lock = FolderLock::create_and_acquire(&out)?;
    for entry in tally.distinct.values() {
        let (_, source) = &sources[&entry.signature.file_stem()];
        copy_report(&source.join(&entry.report), &out.join(&entry.report))?;
    }
    let records = merge_records(&summaries, &folders, &out)?;
    let items = summaries[0].campaign.unsharded().items();
    let context = SummaryContext {
        program: summaries[0].program.clone(),
        campaign: summaries[0].campaign.unsharded(),
        shards,
        shards_missing,
        runs_planned: items.end - items.start,
        runs_restored: summaries.iter().map(|summary| summary.runs_restored).sum(),
        runs_executed: summaries.iter().map(|summary| summary.runs_executed).sum(),
        wall_s: summaries.iter().map(|summary| summary.wall_s).fold(0.0, f64::max),
        wall_s_total: summaries.iter().map(|summary| summary.wall_s_total).fold(0.0, f64::max),
        stopped_by: summaries.iter().find_map(|summary| summary.stopped_by.clone()),
        records: records.as_ref().map(|_| RECORD_FILE.to_string()),
    };
    let summary = Summary::new(&tally, context);
    crate::report::write_outputs(&out, &summary, registry)?;
    print_merged(&summary, folders.len(), &out, records.as_deref());
    Ok(if summary.failures == 0 { EXIT_PASS } else { EXIT_VIOLATION })
}

fn print_merged(summary: &Summary, folders: usize, out: &Path, records: Option<&Path>) {
    outln!(
        "merged {folders} folders: {} runs of {} planned, {} failed runs, {} distinct failures into {}",
        summary.runs,
        summary.runs_planned,
        summary.failures,
        summary.distinct_failures,
        out.display()
    );
    if !summary.shards_missing.is_empty() {
        outln!("incomplete: shards {} are missing", shard_list(&summary.shards_missing));
    }
    crate::fuzz::print_failures(summary, out);
    if let Some(records) = records {
        outln!("records: {}", records.display());
    }
}

/// The shards' totals joined, and which folder holds the kept report of each signature: the
/// one with the earliest run.
fn merged_tally(summaries: &[Summary], folders: &[PathBuf]) -> (Tally, BTreeMap<String, (u64, PathBuf)>) {
    let mut tally = Tally::with_seed_buckets(summaries[0].seed_buckets.len() as u64);
    let mut sources: BTreeMap<String, (u64, PathBuf)> = BTreeMap::new();
    for (summary, folder) in summaries.iter().zip(folders) {
        tally.merge(&summary.tally());
        for entry in &summary.failure_reports {
            let stem = entry.signature.file_stem();
            if sources.get(&stem).is_none_or(|(item, _)| entry.item < *item) {
                sources.insert(stem, (entry.item, folder.clone()));
            }
        }
    }
    (tally, sources)
}

/// The shards the summaries cover, sorted, and the shards of the campaign none of them covers.
fn shards_of(summaries: &[Summary]) -> (Vec<Shard>, Vec<Shard>) {
    let mut shards: Vec<Shard> = summaries.iter().flat_map(|summary| summary.shards.clone()).collect();
    shards.sort();
    let count = shards[0].count;
    let missing = (0..count).map(|index| Shard { index, count }).filter(|shard| !shards.contains(shard)).collect();
    (shards, missing)
}

/// The output folder must not be one of the inputs, nor hold a campaign of its own.
fn check_output_folder(out: &Path, folders: &[PathBuf]) -> Result<(), String> {
    if let Ok(out_path) = out.canonicalize() {
        if folders.iter().any(|folder| folder.canonicalize().is_ok_and(|input| input == out_path)) {
            return Err(format!("--out {} is one of the folders to merge; merge into another folder", out.display()));
        }
    }
    if out.join(CHECKPOINT_FILE).exists() {
        return Err(format!("--out {} holds a campaign ({CHECKPOINT_FILE}); merge into another folder", out.display()));
    }
    Ok(())
}

/// When every folder recorded its runs, their `runs.jsonl` joined in shard order into `out`.
fn merge_records(summaries: &[Summary], folders: &[PathBuf], out: &Path) -> Result<Option<PathBuf>, String> {
    let sources: Vec<PathBuf> = folders.iter().map(|folder| folder.join(RECORD_FILE)).collect();
    let missing: Vec<String> =
        sources.iter().filter(|source| !source.exists()).map(|source| source.display().to_string()).collect();
    if !missing.is_empty() {
        if missing.len() < sources.len() {
            errln!("merge: run records not joined: {} missing", missing.join(", "));
        }
        return Ok(None);
    }
    let mut order: Vec<usize> = (0..folders.len()).collect();
    order.sort_by_key(|&index| summaries[index].shards.first().copied());
    let target = out.join(RECORD_FILE);
    crate::files::write_atomically_with(&target, |output| {
        for &index in &order {
            std::io::copy(&mut std::fs::File::open(&sources[index])?, output)?;
        }
        Ok(())
    })
    .map_err(|error| format!("cannot join the run records into {}: {error}", target.display()))?;
    Ok(Some(target))
}

/// Shards must come from one campaign, run by one build of one program, split the same way,
/// and none may be counted twice.
fn check_same_campaign(summaries: &[Summary], folders: &[PathBuf]) -> Result<(), String> {
    let first = &summaries[0];
    let mut seen = BTreeMap::new();
    for (summary, folder) in summaries.iter().zip(folders) {
        summary
            .campaign
            .check()
            .map_err(|problem| format!("{} holds no valid campaign: {problem}", folder.display()))?;
        if summary.shards.is_empty() || summary.shards.iter().any(|shard| shard.index >= shard.count) {
            return Err(format!("{} names no valid shard of its campaign", folder.display()));
        }
        let differs = if summary.campaign.unsharded() != first.campaign.unsharded() {
            Some(format!(
                "campaign {} instead of {}",
                serde_json::to_string(&summary.campaign.unsharded()).expect("a spec serializes"),
                serde_json::to_string(&first.campaign.unsharded()).expect("a spec serializes")
            ))
        } else if summary.fleetsim != first.fleetsim || summary.program != first.program {
            Some(format!(
                "{} {} ({}) instead of {} {} ({})",
                summary.program,
                summary.fleetsim.version,
                summary.fleetsim.commit,
                first.program,
                first.fleetsim.version,
                first.fleetsim.commit
            ))
        } else {
            None
        };
        if let Some(difference) = differs {
            return Err(format!(
                "{} holds another campaign than {}: {difference}",
                folder.display(),
                folders[0].display()
            ));
        }
        for shard in &summary.shards {
            if let Some(other) = seen.insert(*shard, folder.display().to_string()) {
                return Err(format!("shard {shard} appears in both {other} and {}", folder.display()));
            }
        }
    }
    let counts: std::collections::BTreeSet<u64> = seen.keys().map(|shard| shard.count).collect();
    if counts.len() > 1 {
        return Err(format!("the folders split the campaign in different shard counts: {counts:?}"));
    }
    Ok(())
}

fn copy_report(from: &Path, to: &Path) -> Result<(), String> {
    let bytes = std::fs::read(from).map_err(|error| format!("cannot read {}: {error}", from.display()))?;
    crate::files::write_atomically(to, &bytes).map_err(|error| format!("cannot write {}: {error}", to.display()))
}
