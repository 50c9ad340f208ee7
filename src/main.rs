//! billingd's binary: parse the command line, hand over to the library.

use clap::Parser;

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
