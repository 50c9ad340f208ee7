//! billingd's binary: parse the command line, hand over to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = billingd::cli::Cli::parse();
    // On a worker thread, not on main's `block_on`: the send loop is woken for every answer,
    // and a wake-up on the main thread is a futex and a context switch each time.
    let outcome = match tokio::spawn(billingd::cli::run(cli)).await {
        Ok(outcome) => outcome,
        Err(e) => Err(anyhow::anyhow!("billingd stopped unexpectedly: {e}")),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("billingd: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
