//! Replication, on Redis's protocol so redis-server, redis-cli and redis-sentinel work
//! with ferrokv in both roles.
//!
//! - `backlog`: the ring of recent stream bytes a short disconnect resumes from.
//! - `master`: the replication ID and offset, and the links to connected replicas (full
//!   sync by a fork-less RDB stream, then the write stream).

pub mod backlog;
pub mod master;
pub mod replica;
