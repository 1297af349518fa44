//! `firefly`: the command-line entry point. Parses flags, loads the configuration, and hands
//! each command to its module in `commands/`. Errors are reported here, with context, and
//! mapped to the contract's exit codes: 0 success, 2 invalid input (nothing written), 1 any
//! other failure.

use api::app::Failure;
use api::commands;
use api::config::{self, Config, CrsChoice, Overrides};
use api::storage::Location;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "firefly", version, about = "Night-time-economy patrol planner")]
struct Cli {
    /// Database: an SQLite file (default ./firefly.db), or a PostgreSQL server as
    /// postgres://user[:password]@host[:port]/database[?sslmode=verify-full&sslrootcert=FILE].
    // hide_env_values: `--help` would otherwise print FIREFLY_DB, password and all.
    #[arg(long, global = true, env = "FIREFLY_DB", hide_env_values = true)]
    db: Option<Location>,
    /// Settings file (TOML): db, tz, crs, boundary. Default: ./firefly.toml if it exists.
    #[arg(long, global = true, env = "FIREFLY_CONFIG")]
    config: Option<PathBuf>,
    /// Time zone in which windows, nights and local dates are read.
    #[arg(long, global = true, env = "FIREFLY_TZ")]
    tz: Option<String>,
    /// Metric CRS: British National Grid in GB, else the data's UTM zone (auto).
    #[arg(long, global = true, env = "FIREFLY_CRS", value_enum)]
    crs: Option<CrsChoice>,
    /// Force boundary: GeoJSON polygons (e.g. the force's districts).
    #[arg(long = "boundary-file", global = true, env = "FIREFLY_BOUNDARY")]
    boundary: Option<PathBuf>,
    /// Why the data is read, written to the audit log with the OS account (optional).
    #[arg(long, global = true, env = "FIREFLY_PURPOSE")]
    purpose: Option<String>,
    #[command(subcommand)]
    command: Command,
}

impl Command {
    /// The commands that read incident data, logged before they run.
    fn reads_incidents(&self) -> Option<&'static str> {
        Some(match self {
            Command::Hotspots(_) => "hotspots",
            Command::Venues(_) => "venues",
            Command::Profile(_) => "profile",
            Command::Zones(_) => "zones",
            Command::Plan(_) => "plan",
            Command::Replan(_) => "replan",
            Command::Backtest(_) => "backtest",
            Command::Summary => "summary",
            _ => return None,
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Validate and import data; every import is all-or-nothing.
    #[command(subcommand)]
    Import(commands::import::ImportCommand),
    /// Load the demo data set (Bedfordshire) and print what is in the database.
    Demo(commands::demo::DemoArgs),
    /// Print what is in the database: incidents by category and district, venues, training.
    Summary,
    /// Score the grid: weighted counts, KDE, Gi* or prospective hotspots.
    Hotspots(Box<commands::hotspots::HotspotArgs>),
    /// Licensed premises ranked by the harm of incidents within --radius, with training status.
    Venues(Box<commands::venues::VenueArgs>),
    /// Hour-of-week profile of the selected incidents (or the labelled prior).
    Profile(Box<commands::venues::ProfileArgs>),
    /// Patrol zones: walkable clusters of hot cells, named after their venues (GeoJSON).
    Zones(Box<commands::zones::ZonesCmd>),
    /// The optimised rota for one night: plan JSON, rota CSV, one iCalendar file per unit.
    Plan(Box<commands::plan::PlanArgs>),
    /// Re-plan a night from a given time when a unit drops out or joins.
    Replan(Box<commands::plan::ReplanArgs>),
    /// Honest evaluation: fit before --cut, test after it; hit rate and PAI per method.
    Backtest(Box<commands::backtest::BacktestArgs>),
    /// Measure performance (import throughput, memory, spatial index) and print figures.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
    /// The HTTP API and the map UI until Ctrl-C or SIGTERM.
    Serve(commands::serve::ServeArgs),
    /// Create and list users of the HTTP API (there is no default user or password).
    #[command(subcommand)]
    Users(commands::users::UsersCommand),
    /// Check the audit log's hash chain, or print its head to ship elsewhere.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Write a checked copy of the database (safe while the server runs).
    Backup(commands::backup::BackupArgs),
    /// Replace the database with a checked copy (stop the server first).
    Restore(commands::backup::RestoreArgs),
    /// Copy the SQLite database (--db) into an empty PostgreSQL database (--to).
    Migrate(commands::migrate::MigrateArgs),
    /// Delete check-ins, sessions and audit rows older than the [retention] policy allows.
    Retention(commands::retention::RetentionArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs requests (info); other commands only warnings unless FIREFLY_LOG says.
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FIREFLY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // FIREFLY_LOG_FORMAT=json: one JSON object per line, for log collectors.
    if std::env::var("FIREFLY_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    let overrides = Overrides {
        db: cli.db,
        tz: cli.tz,
        crs: cli.crs,
        boundary: cli.boundary,
    };
    // Without --config, ./firefly.toml is read when it exists (the demo writes one).
    let config_file = cli.config.or_else(|| {
        let local = PathBuf::from(config::LOCAL_CONFIG);
        local.is_file().then_some(local)
    });
    let purpose = cli
        .purpose
        .as_deref()
        .map(api::app::operator::check_purpose)
        .transpose()
        .map_err(|e| Failure::Invalid(anyhow::anyhow!(e)));
    let result = purpose
        .and_then(|p| {
            api::app::operator::set_purpose(p);
            Config::load(config_file.as_deref(), overrides).map_err(Failure::Invalid)
        })
        .and_then(|config| {
            if let Some(command) = cli.command.reads_incidents() {
                commands::audit::log_cli_read(&config, command)?;
            }
            Ok(config)
        })
        .and_then(|config| match cli.command {
            Command::Import(cmd) => commands::import::run(&config, cmd),
            Command::Demo(args) => commands::demo::run(config, args),
            Command::Summary => commands::summary::run(&config),
            Command::Hotspots(args) => commands::hotspots::run(&config, *args),
            Command::Backtest(args) => commands::backtest::run(&config, *args),
            Command::Zones(args) => commands::zones::run(&config, *args),
            Command::Plan(args) => commands::plan::run(&config, *args),
            Command::Replan(args) => commands::plan::replan_run(&config, *args),
            Command::Venues(args) => commands::venues::run(&config, *args),
            Command::Profile(args) => commands::venues::profile(&config, *args),
            Command::Bench(cmd) => commands::bench::run(&config, cmd),
            Command::Serve(args) => commands::serve::run(config, args),
            Command::Users(cmd) => commands::users::run(&config, cmd),
            Command::Audit(cmd) => commands::audit::run(&config, cmd),
            Command::Backup(args) => commands::backup::backup(&config, args),
            Command::Restore(args) => commands::backup::restore(&config, args),
            Command::Migrate(args) => commands::migrate::migrate(&config, args),
            Command::Retention(args) => commands::retention::run(&config, args),
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid(e)) => {
            eprintln!("firefly: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Other(e)) => {
            eprintln!("firefly: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
