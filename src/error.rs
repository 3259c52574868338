//! Shared error types. A command handler returns `Result<(), CmdError>` and the dispatcher
//! writes the error reply. Failures many commands share (WRONGTYPE, arity, syntax, bad
//! integers...) are variants that print Redis 7's exact text, so two handlers cannot word
//! the same failure differently; texts only one command uses are built where they arise
//! (`CmdError::err`, `Custom`, `Bytes`).

use std::fmt;

/// An error reply to a command. `Display` gives the text after the `-` of the RESP error.
#[derive(Debug, Clone, PartialEq)]
pub enum CmdError {
    /// `-WRONGTYPE ...`
    WrongType,
    /// `-ERR wrong number of arguments for '<name>' command`
    Arity(String),
    /// `-ERR syntax error`
    Syntax,
    /// `-ERR value is not an integer or out of range`
    NotInteger,
    /// `-ERR value is not a valid float`
    NotFloat,
    /// `-ERR hash value is not an integer`
    HashNotInteger,
    /// `-ERR hash value is not a float`
    HashNotFloat,
    /// `-ERR increment or decrement would overflow`
    Overflow,
    /// `-ERR increment would produce NaN or Infinity`
    NanOrInf,
    /// `-ERR no such key`
    NoSuchKey,
    /// `-ERR DB index is out of range`
    DbIndex,
    /// `-ERR invalid expire time in '<cmd>' command`
    InvalidExpire(String),
    /// Any other error; the string is the full text after `-` (it carries its own prefix).
    Custom(String),
    /// Like `Custom`, for texts that echo client bytes which may not be UTF-8.
    Bytes(Vec<u8>),
}

impl CmdError {
    /// An `ERR`-prefixed error with free text.
    pub fn err(msg: impl AsRef<str>) -> CmdError {
        CmdError::Custom(format!("ERR {}", msg.as_ref()))
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmdError::WrongType => {
                f.write_str("WRONGTYPE Operation against a key holding the wrong kind of value")
            }
            CmdError::Arity(name) => {
                write!(f, "ERR wrong number of arguments for '{name}' command")
            }
            CmdError::Syntax => f.write_str("ERR syntax error"),
            CmdError::NotInteger => f.write_str("ERR value is not an integer or out of range"),
            CmdError::NotFloat => f.write_str("ERR value is not a valid float"),
            CmdError::HashNotInteger => f.write_str("ERR hash value is not an integer"),
            CmdError::HashNotFloat => f.write_str("ERR hash value is not a float"),
            CmdError::Overflow => f.write_str("ERR increment or decrement would overflow"),
            CmdError::NanOrInf => f.write_str("ERR increment would produce NaN or Infinity"),
            CmdError::NoSuchKey => f.write_str("ERR no such key"),
            CmdError::DbIndex => f.write_str("ERR DB index is out of range"),
            CmdError::InvalidExpire(cmd) => {
                write!(f, "ERR invalid expire time in '{cmd}' command")
            }
            CmdError::Custom(s) => f.write_str(s),
            CmdError::Bytes(b) => f.write_str(&String::from_utf8_lossy(b)),
        }
    }
}

/// Result type of command handlers.
pub type CmdResult = Result<(), CmdError>;

/// A problem in the configuration (file or command line); printed the way Redis does.
#[derive(Debug)]
pub struct ConfigError {
    pub line_no: usize,
    pub line: String,
    pub msg: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\n*** FATAL CONFIG FILE ERROR (ferrokv) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}",
            self.line_no, self.line, self.msg
        )
    }
}
