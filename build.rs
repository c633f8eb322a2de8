//! Records the git commit fleetsim is built from, for failure reports: `FLEETSIM_GIT_COMMIT` when
//! set (a build outside git), else git's HEAD, else "unknown".

use std::process::Command;

fn git(arguments: &[&str]) -> Option<String> {
    let output = Command::new("git").args(arguments).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    // A build outside git (the container build) names its commit in FLEETSIM_GIT_COMMIT.
    let given = std::env::var("FLEETSIM_GIT_COMMIT").ok().filter(|commit| !commit.is_empty() && commit != "unknown");
    let commit = given.or_else(|| git(&["rev-parse", "HEAD"])).unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=FLEETSIM_GIT_COMMIT={commit}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FLEETSIM_GIT_COMMIT");
    // Rebuild when HEAD moves: HEAD itself (branch switch) and the branch it points to (commit).
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch]));
    }
    for path in watched.into_iter().flatten() {
        if std::path::Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
