//! Typed configuration, in layers: defaults, then the `--config` file, then `FIREFLY_*`
//! environment variables, then command-line flags. Validated once at start-up, so a bad
//! setting fails fast with a message naming it.
//!
//! | setting | flag | environment | file key | default |
//! |---|---|---|---|---|
//! | database path | `--db` | `FIREFLY_DB` | `db` | `./firefly.db` |
//! | force time zone | `--tz` | `FIREFLY_TZ` | `tz` | `Europe/London` |
//! | metric CRS | `--crs` | `FIREFLY_CRS` | `crs` | `auto` |
//! | force boundary (GeoJSON polygons) | `--boundary-file` | `FIREFLY_BOUNDARY` | `boundary` | none |
//!
//! Without `--config`, `./firefly.toml` is read if it exists; `firefly demo` writes one
//! that points at the demo's force boundary.

use anyhow::{Context, bail};
use jiff::tz::TimeZone;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The settings file read from the working folder when `--config` is not given.
pub const LOCAL_CONFIG: &str = "firefly.toml";

/// `--crs`: which metric CRS to compute in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CrsChoice {
    /// British National Grid in Great Britain, else the UTM zone of the data's centre.
    Auto,
    Bng,
    Utm,
}

/// The settings file (`--config FILE`, TOML). Relative paths are read from the file's folder.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub db: Option<PathBuf>,
    pub tz: Option<String>,
    pub crs: Option<CrsChoice>,
    pub boundary: Option<PathBuf>,
}

/// Settings given on the command line or in the environment (clap reads both).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub db: Option<PathBuf>,
    pub tz: Option<String>,
    pub crs: Option<CrsChoice>,
    pub boundary: Option<PathBuf>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub db: PathBuf,
    pub tz_name: String,
    pub tz: TimeZone,
    pub crs: CrsChoice,
    pub boundary: Option<PathBuf>,
}

impl Config {
    /// Merges the layers and validates the result.
    pub fn load(config_file: Option<&Path>, overrides: Overrides) -> anyhow::Result<Config> {
        let file = match config_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                let mut f: FileConfig = toml::from_str(&text)
                    .with_context(|| format!("config file {} is invalid", path.display()))?;
                let base = path.parent().unwrap_or(Path::new("."));
                f.db = f.db.map(|p| base.join(p));
                f.boundary = f.boundary.map(|p| base.join(p));
                f
            }
            None => FileConfig::default(),
        };
        let tz_name = overrides
            .tz
            .or(file.tz)
            .unwrap_or_else(|| "Europe/London".to_string());
        let tz = match TimeZone::get(&tz_name) {
            Ok(tz) => tz,
            Err(_) => bail!(
                "time zone {tz_name:?} is not an IANA zone name (e.g. Europe/London, America/Chicago)"
            ),
        };
        let boundary = overrides.boundary.or(file.boundary);
        if let Some(b) = &boundary
            && !b.is_file()
        {
            bail!("boundary file {} does not exist", b.display());
        }
        Ok(Config {
            db: overrides
                .db
                .or(file.db)
                .unwrap_or_else(|| PathBuf::from("firefly.db")),
            tz_name,
            tz,
            crs: overrides.crs.or(file.crs).unwrap_or(CrsChoice::Auto),
            boundary,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firefly.toml");
        std::fs::write(
            &path,
            "db = \"x.db\"\ntz = \"America/Chicago\"\ncrs = \"utm\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), Overrides::default()).unwrap();
        assert_eq!(c.db, dir.path().join("x.db"));
        assert_eq!(c.tz_name, "America/Chicago");
        assert_eq!(c.crs, CrsChoice::Utm);
        let c = Config::load(
            Some(&path),
            Overrides {
                tz: Some("Europe/London".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.tz_name, "Europe/London");
        let c = Config::load(None, Overrides::default()).unwrap();
        assert_eq!(
            (c.db, c.tz_name, c.crs),
            (
                PathBuf::from("firefly.db"),
                "Europe/London".into(),
                CrsChoice::Auto
            )
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let e = Config::load(
            None,
            Overrides {
                tz: Some("Mars/Olympus".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("Mars/Olympus"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "colour = \"red\"\n").unwrap();
        let e = Config::load(Some(&path), Overrides::default()).unwrap_err();
        assert!(format!("{e:#}").contains("colour"), "{e:#}");
    }
}
