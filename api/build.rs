//! Gives the binary the commit it was built from (`orgata --version`): `ORGATA_COMMIT`, the short
//! hash of HEAD, or `unknown` outside a git checkout. Rebuilt when HEAD or the branch it names
//! moves (not on uncommitted edits, which would rebuild the crate on every `git status`).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        let branch = git(&["symbolic-ref", "-q", "HEAD"]);
        // (A file named here that does not exist would rerun this script on every build.)
        for file in ["HEAD", "packed-refs"].into_iter().map(String::from).chain(branch) {
            let path = std::path::Path::new(&dir).join(file);
            if path.is_file() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=ORGATA_COMMIT={commit}");
}
