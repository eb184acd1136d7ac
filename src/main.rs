//! pmem-aff4: a physical-memory imager writing AFF4 Standard v1.0 evidence containers.
//!
//! The binary is glue: it parses the command line, picks a mode and wires the
//! `drivers` crate (memory sources) to the `aff4` crate (the container format).
//! Data flows one way: source → reader pool → compressor → volume writer.

/// `writeln!` to stdout returning a [`StdoutError`] instead of panicking (a closed pipe
/// must not panic: `pmem-aff4 -l host.aff4 | head -1`). Use inside a function returning
/// `anyhow::Result`.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err($crate::StdoutError)?
    }};
}

/// `write!` to stdout, as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*).map_err($crate::StdoutError)?
    }};
}

/// Writing a report to standard output failed.
#[derive(Debug)]
pub struct StdoutError(pub std::io::Error);

impl std::fmt::Display for StdoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "writing to standard output: {}", self.0)
    }
}

impl std::error::Error for StdoutError {}

mod acquire;
mod cli;
mod export;
mod footprint;
mod inject;
mod inspect;
#[cfg(unix)]
mod nocache;
#[cfg(windows)]
#[path = "nocache_windows.rs"]
mod nocache;
mod output;
mod pipeline;
mod progress;
mod recover;
mod report;
#[cfg(unix)]
mod signals;
#[cfg(windows)]
#[path = "signals_windows.rs"]
mod signals;
mod watchdog;

use std::process::ExitCode;

/// Exit codes (documented in the README).
pub mod exit {
    /// Everything worked.
    pub const OK: u8 = 0;
    /// An error (message on stderr).
    pub const ERROR: u8 = 1;
    /// `--verify` found a mismatching or unverifiable hash.
    pub const VERIFY_FAILED: u8 = 3;
    /// Interrupted by SIGINT/SIGTERM; the container was closed and marked incomplete.
    pub const INTERRUPTED: u8 = 130;
    /// The reader of a report on stdout went away (`| head`): 128 + SIGPIPE, what a
    /// shell reports for a command killed by SIGPIPE; nothing is printed.
    pub const STDOUT_CLOSED: u8 = 141;
}

fn main() -> ExitCode {
    let args = cli::parse();
    init_logging(&args);
    match cli::run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(err) if closed_stdout(&err) => ExitCode::from(exit::STDOUT_CLOSED),
        Err(err) => {
            let hint = if err
                .chain()
                .any(|c| matches!(c.downcast_ref(), Some(aff4::Error::WorkLimit { .. })))
            {
                "; pass --no-work-limit to read it anyway"
            } else {
                ""
            };
            eprintln!("pmem-aff4: error: {}{hint}", one_line(&err));
            ExitCode::from(exit::ERROR)
        }
    }
}

/// Whether `err` is a report's stdout closed by its reader.
fn closed_stdout(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|c| c.downcast_ref::<StdoutError>())
        .any(|e| e.0.kind() == std::io::ErrorKind::BrokenPipe)
}

/// The error and its causes joined by ": ", skipping a cause whose text the previous
/// message already ends with (errors that both print and expose their source).
fn one_line(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let s = cause.to_string();
        if out.ends_with(&s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s);
    }
    out
}

/// Errors only with `-q`; on a terminal, info (which source, why not the others); when
/// stderr is a file or pipe, warnings only, so that a script sees just the summary line
/// (which names the source); `-v`/`-vv` for debug/trace.
fn init_logging(args: &cli::Args) {
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    let level = if args.quiet {
        "error"
    } else {
        match args.verbose {
            0 if tty => "info",
            0 => "warn",
            1 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PMEM_AFF4_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(tty)
        .without_time()
        .with_target(false)
        .init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_line_drops_a_cause_already_printed() {
        let io = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let e = anyhow::Error::new(aff4::Error::io("writing member x", io)).context("writing y");
        assert_eq!(
            super::one_line(&e),
            "writing y: writing member x: No space left on device (os error 28)"
        );
    }
}
