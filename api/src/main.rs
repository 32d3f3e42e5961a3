use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of the system allocator (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    without_transparent_huge_pages();
    let cli = orgata_api::cli::Cli::parse();
    match orgata_api::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes.
            let causes: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("error: {}", causes.join(": "));
            ExitCode::FAILURE
        }
    }
}

/// Turns transparent huge pages off for this process (Linux; nothing elsewhere). mimalloc asks
/// for them on its arenas, and the kernel then clears 2 MiB at a time as memory is first touched,
/// which dominated the large reports (docs/benchmarks.md has the measurements).
fn without_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of the process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
