pub mod args;
pub mod encode;
pub mod parse;
pub mod reply;
