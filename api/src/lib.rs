//! Firefly's edges, as a library so that the `firefly` binary and the HTTP tests share them.
//! The layers: `planner` (the domain, no I/O) <- [`app`] (one function per use case) <-
//! [`commands`] (the CLI) and [`server`] (the HTTP API), which never import each other;
//! [`storage`] is the only code that knows SQL; [`config`] the layered settings.

pub mod app;
pub mod commands;
pub mod config;
pub mod net;
pub mod pmtiles;
pub mod roles;
pub mod server;
pub mod storage;
