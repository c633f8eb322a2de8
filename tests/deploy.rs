//! The Slurm array script runs a campaign's shards as a Slurm array would (its environment
//! variables, without `sbatch`), resumes a requeued task, and the shards merge into one complete
//! campaign.

use std::path::Path;
use std::process::{Command, Output};

fn script(out: &Path, task: u32, count: u32) -> Output {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/slurm/fuzz-array.sbatch"))
        .env("FLEETSIM", env!("CARGO_BIN_EXE_fleetsim"))
        .env("SEEDS", "6")
        .env("OUT", out)
        .env("TIME", "10m")
        .env("SLURM_ARRAY_TASK_ID", task.to_string())
        .env("SLURM_ARRAY_TASK_COUNT", count.to_string())
        .env("SLURM_CPUS_PER_TASK", "1")
        .output()
        .expect("bash runs")
}

fn summary(folder: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(folder.join("summary.json")).expect("a summary")).expect("json")
}

#[test]
fn the_slurm_array_script_runs_each_shard_resumes_a_requeued_one_and_the_shards_merge() {
    let out = std::env::temp_dir().join(format!("fleetsim-slurm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    for task in 0..2 {
        let output = script(&out, task, 2);
        assert_eq!(output.status.code(), Some(0), "task {task}: {}", String::from_utf8_lossy(&output.stderr));
        let shard = summary(&out.join(format!("shard-{task}")));
        let slice = &shard["campaign"]["shard"];
        assert_eq!((slice["index"].as_u64(), slice["count"].as_u64()), (Some(task.into()), Some(2)), "task {task}");
        assert_eq!(shard["runs"], shard["runs_planned"], "task {task} ran its whole slice");
    }
    let requeued = script(&out, 1, 2);
    assert_eq!(
        requeued.status.code(),
        Some(0),
        "a requeued task resumes: {}",
        String::from_utf8_lossy(&requeued.stderr)
    );
    let merged = out.join("merged");
    let merge = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .arg("merge")
        .args([out.join("shard-0"), out.join("shard-1")])
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(merge.status.code(), Some(0), "{}", String::from_utf8_lossy(&merge.stderr));
    let whole = summary(&merged);
    assert_eq!((whole["complete"].as_bool(), whole["runs"].as_u64()), (Some(true), whole["runs_planned"].as_u64()));
    assert_eq!(whole["shards_missing"].as_array().map(Vec::len), Some(0));
    let without_task = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/slurm/fuzz-array.sbatch"))
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .unwrap();
    assert_ne!(without_task.status.code(), Some(0), "outside an array task the script refuses to run");
    let _ = std::fs::remove_dir_all(&out);
}
