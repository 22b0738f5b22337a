//! The `dotcoind` binary: parse flags, hand over to the library.

fn main() -> std::process::ExitCode {
    let args = dotcoind::config::Args::parse_core_style(std::env::args_os());
    match dotcoind::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Logging may not be up yet (a bad config file); stderr always is.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("Error: {e}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
