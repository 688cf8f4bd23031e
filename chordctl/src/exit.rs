//! Exit codes and the error type that carries one.
//!
//! Most failures are plain `anyhow` errors and exit with [`Code::Failure`].
//! The few outcomes a script may want to branch on (bad input, a key that
//! does not exist, an unhealthy cluster) are wrapped in [`Exit`], which
//! `main` finds anywhere in the error chain.

use std::fmt;

/// The documented exit codes of `chordctl` (also listed in `--help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Something went wrong: engine unreachable, node unreachable, timeout.
    Failure = 1,
    /// Invalid command line or input (unknown flag, bad JSON, bad key).
    Usage = 2,
    /// `get` or `delete` of a key that does not exist.
    NotFound = 3,
    /// `status`, `ring` or `check` found a problem (node down, ring broken,
    /// lost, under-replicated or misplaced keys).
    Unhealthy = 4,
}

/// The help text that documents the exit codes, shown by `chordctl --help`.
pub const HELP: &str = "\
Exit codes:
  0  success
  1  failure: Docker engine or node unreachable, timeout, cluster missing, ...;
     also `exists` of a key that does not exist
  2  usage error: invalid arguments, invalid JSON value, invalid key
  3  not found: `get` or `delete` of a key that does not exist
  4  unhealthy: `status`, `ring` or `check` found a problem (node down,
     ring pointers disagree, keys lost, under-replicated or misplaced)";

/// An error that ends the program with a specific exit code.
#[derive(Debug)]
pub struct Exit {
    /// The exit code to use.
    pub code: Code,
    /// What to tell the user.
    pub message: String,
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// An invalid-input error (exit code 2).
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Exit {
        code: Code::Usage,
        message: message.into(),
    }
    .into()
}

/// A key-not-found error (exit code 3).
pub fn not_found(message: impl Into<String>) -> anyhow::Error {
    Exit {
        code: Code::NotFound,
        message: message.into(),
    }
    .into()
}

/// `exists` of a key that does not exist: exit code 1 (a plain "no", as
/// `test` and `grep -q` answer; not [`Code::NotFound`], which is an error
/// of `get` and `delete`).
pub fn absent(message: impl Into<String>) -> anyhow::Error {
    Exit {
        code: Code::Failure,
        message: message.into(),
    }
    .into()
}

/// An unhealthy-cluster verdict (exit code 4), raised after the report has
/// been printed.
pub fn unhealthy(message: impl Into<String>) -> anyhow::Error {
    Exit {
        code: Code::Unhealthy,
        message: message.into(),
    }
    .into()
}

/// The exit code for an error: the first [`Exit`] in its chain, else 1.
pub fn code_of(err: &anyhow::Error) -> i32 {
    err.chain()
        .find_map(|e| e.downcast_ref::<Exit>())
        .map_or(Code::Failure, |e| e.code) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_found_under_context() {
        let err = not_found("no such key").context("get failed");
        assert_eq!(code_of(&err), 3);
        assert_eq!(code_of(&anyhow::anyhow!("plain")), 1);
    }
}
