//! The `dotcoin-wallet` binary: everything is in the library's `run`.

fn main() -> std::process::ExitCode {
    dotcoin_wallet::run()
}
