//! billingd's binary: parse the command line, hand over to the library.

use clap::Parser;

// The charging path allocates and frees a batch's request bodies, JSON and bind buffers all
// the time; glibc's malloc spent much of billingd's CPU on that (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = billingd::cli::Cli::parse();
    match billingd::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("billingd: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
