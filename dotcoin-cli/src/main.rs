//! The `dotcoin-cli` binary: runs the command line through the library and prints the
//! result. All the logic, and the exact text, live in the library where they are tested.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Lossy rather than `env::args()`, which panics on an argument that is not UTF-8.
    let argv = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned());
    let out = dotcoin_cli::run_command_line(argv, std::io::stdin().lock());
    // Written with `write_all` rather than `print!`, which panics when the reader has gone
    // away (`dotcoin-cli getblock … | head`); a closed pipe is not worth a panic message.
    let _ = std::io::stdout().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().write_all(out.stderr.as_bytes());
    ExitCode::from(out.exit_code)
}
