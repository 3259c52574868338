//! The wire protocol: an incremental request parser (`parse`) and a reply encoder (`reply`).
pub mod parse;
pub mod reply;
