//! What the server needs to know about a PMTiles v3 basemap archive: its fixed 127-byte
//! header (tile type, zooms, bounds, centre) and the attribution in its JSON metadata, so
//! a bad file is refused at start-up and the map UI can build a style for it. The tiles
//! themselves are read by the browser with HTTP range requests (the `pmtiles` npm package).
//!
//! Layout: <https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md>, chapter 3.
//! Tested with the server in `tests/http_basemap.rs`.

use serde::Serialize;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The header's length in bytes.
pub const HEADER_BYTES: usize = 127;
/// Metadata larger than this is not read (only its attribution is wanted).
const MAX_METADATA_BYTES: u64 = 1 << 20;

/// Why a file is not a usable PMTiles archive.
#[derive(Debug, thiserror::Error)]
pub enum PmtilesError {
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    #[error("it is not a PMTiles archive (it does not start with \"PMTiles\")")]
    NotPmtiles,
    #[error("PMTiles version {0} is not supported (version 3 is)")]
    Version(u8),
    #[error("its tile type {0} is unknown (expected MVT, PNG, JPEG, WebP or AVIF)")]
    TileType(u8),
    #[error("its zoom levels are inconsistent (min {min}, max {max})")]
    Zooms { min: u8, max: u8 },
    #[error("its metadata is unreadable: {0}")]
    Metadata(String),
}

/// The header fields the map needs, and the metadata's attribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Header {
    /// `mvt`, `png`, `jpeg`, `webp` or `avif`.
    pub tile_type: &'static str,
    pub min_zoom: u8,
    pub max_zoom: u8,
    /// West, south, east, north, degrees.
    pub bounds: [f64; 4],
    /// Longitude, latitude, zoom.
    pub center: [f64; 3],
    /// The metadata's `attribution`, when it has one.
    pub attribution: Option<String>,
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn degrees_at(b: &[u8], at: usize) -> f64 {
    f64::from(i32::from_le_bytes(
        b[at..at + 4].try_into().expect("4 bytes"),
    )) / 1e7
}

impl Header {
    /// Parses the fixed header; `attribution` is left empty. Also returns the metadata's
    /// offset, length and internal compression.
    pub fn parse(b: &[u8; HEADER_BYTES]) -> Result<(Header, u64, u64, u8), PmtilesError> {
        if &b[..7] != b"PMTiles" {
            return Err(PmtilesError::NotPmtiles);
        }
        if b[7] != 3 {
            return Err(PmtilesError::Version(b[7]));
        }
        let tile_type = match b[99] {
            1 => "mvt",
            2 => "png",
            3 => "jpeg",
            4 => "webp",
            5 => "avif",
            other => return Err(PmtilesError::TileType(other)),
        };
        let (min_zoom, max_zoom) = (b[100], b[101]);
        if min_zoom > max_zoom || max_zoom > 30 {
            return Err(PmtilesError::Zooms {
                min: min_zoom,
                max: max_zoom,
            });
        }
        let header = Header {
            tile_type,
            min_zoom,
            max_zoom,
            bounds: [
                degrees_at(b, 102),
                degrees_at(b, 106),
                degrees_at(b, 110),
                degrees_at(b, 114),
            ],
            center: [degrees_at(b, 119), degrees_at(b, 123), f64::from(b[118])],
            attribution: None,
        };
        Ok((header, u64_at(b, 24), u64_at(b, 32), b[97]))
    }

    /// Reads and checks the header of the archive at `path`, and its attribution.
    pub fn read_file(path: &Path) -> Result<Header, PmtilesError> {
        let mut file = std::fs::File::open(path)?;
        let mut bytes = [0u8; HEADER_BYTES];
        file.read_exact(&mut bytes).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => PmtilesError::NotPmtiles,
            _ => PmtilesError::Io(e),
        })?;
        let (mut header, offset, length, compression) = Header::parse(&bytes)?;
        if length == 0 || length > MAX_METADATA_BYTES {
            return Ok(header);
        }
        file.seek(SeekFrom::Start(offset))?;
        let mut raw = vec![0u8; length as usize];
        file.read_exact(&mut raw)?;
        let text = match compression {
            // 0 is "unknown": try as it is.
            0 | 1 => raw,
            2 => {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&raw[..])
                    .read_to_end(&mut out)
                    .map_err(|e| PmtilesError::Metadata(format!("gzip: {e}")))?;
                out
            }
            // Brotli or zstd metadata: the attribution is then left to the style.
            _ => return Ok(header),
        };
        let meta: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| PmtilesError::Metadata(format!("not JSON: {e}")))?;
        header.attribution = meta["attribution"].as_str().map(str::to_string);
        Ok(header)
    }
}
