//! Firefly's edges, as a library so that the `firefly` binary and the HTTP tests share them:
//! configuration, SQLite storage, the analysis glue between stored records and `planner`,
//! the CLI commands, and the HTTP server (`server::app`).

pub mod analysis;
pub mod commands;
pub mod config;
pub mod pmtiles;
pub mod roles;
pub mod server;
pub mod storage;
