//! The bank of the book, as several OS processes sharing accounts in
//! PostgreSQL under `warden::dist` locks, with fenced writes
//! (feature `postgres`).
//!
//! * `bank`: the accounts table, one transfer under two `dist::Lock`s
//!   with the fence protocol, and the total check.
//! * `cluster`: a throwaway PostgreSQL cluster for the example, its test
//!   and the measurement (`WARDEN_PG_URL` names a server to use instead).

// "PostgreSQL" is a name, not code: no backticks.
#![allow(clippy::doc_markdown)]
#![cfg(feature = "postgres")]

pub mod bank;
pub mod cluster;
