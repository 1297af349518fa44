//! The configurable basemap: a style URL or a local PMTiles archive, checked at start-up,
//! announced at `/config.json` and served with HTTP range requests.

mod common;

use api::config::{Basemap, ServerConfig, ServerFile, ServerOverrides};
use api::pmtiles::{HEADER_BYTES, Header};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use std::path::Path;

/// A minimal PMTiles v3 archive: the header, an empty root directory, `metadata`
/// (uncompressed), then `tail` as tile data.
fn archive(tile_type: u8, metadata: &str, tail: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; HEADER_BYTES];
    b[..7].copy_from_slice(b"PMTiles");
    b[7] = 3;
    let put = |b: &mut Vec<u8>, at: usize, v: u64| b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    let meta_len = metadata.len() as u64;
    put(&mut b, 8, HEADER_BYTES as u64); // root directory offset (length 0)
    put(&mut b, 24, HEADER_BYTES as u64); // metadata offset
    put(&mut b, 32, meta_len);
    put(&mut b, 56, HEADER_BYTES as u64 + meta_len); // tile data offset
    put(&mut b, 64, tail.len() as u64);
    b[97] = 1; // internal compression: none
    b[98] = 1;
    b[99] = tile_type;
    b[101] = 14;
    let deg = |b: &mut Vec<u8>, at: usize, v: f64| {
        b[at..at + 4].copy_from_slice(&((v * 1e7).round() as i32).to_le_bytes())
    };
    deg(&mut b, 102, -0.71);
    deg(&mut b, 106, 51.8);
    deg(&mut b, 110, -0.14);
    deg(&mut b, 114, 52.33);
    b[118] = 10;
    deg(&mut b, 119, -0.42);
    deg(&mut b, 123, 51.88);
    b.extend_from_slice(metadata.as_bytes());
    b.extend_from_slice(tail);
    b
}

fn resolve(style: Option<&str>, pmtiles: Option<&Path>) -> anyhow::Result<ServerConfig> {
    ServerConfig::resolve(
        &ServerFile::default(),
        ServerOverrides {
            basemap_style: style.map(str::to_string),
            basemap_pmtiles: pmtiles.map(Path::to_path_buf),
            ..Default::default()
        },
    )
}

#[test]
fn the_header_and_attribution_are_read_and_bad_archives_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.pmtiles");
    std::fs::write(
        &path,
        archive(2, r#"{"attribution":"© OpenStreetMap contributors"}"#, b""),
    )
    .unwrap();
    let h = Header::read_file(&path).unwrap();
    assert_eq!(h.tile_type, "png");
    assert_eq!((h.min_zoom, h.max_zoom), (0, 14));
    assert_eq!(h.bounds, [-0.71, 51.8, -0.14, 52.33]);
    assert_eq!(h.center, [-0.42, 51.88, 10.0]);
    assert_eq!(
        h.attribution.as_deref(),
        Some("© OpenStreetMap contributors")
    );

    let bad = dir.path().join("x.pmtiles");
    let mut v2 = archive(1, "{}", b"");
    v2[7] = 2;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not a tile archive".to_vec(), "not a PMTiles"),
        (b"GIF89a".repeat(30), "not a PMTiles"),
        (v2, "version 2"),
        (archive(9, "{}", b""), "tile type 9"),
        (archive(1, "{not json", b""), "not JSON"),
    ];
    for (bytes, why) in cases {
        std::fs::write(&bad, bytes).unwrap();
        let e = format!("{:#}", resolve(None, Some(&bad)).unwrap_err());
        assert!(
            e.contains(why) && e.contains("basemap_pmtiles"),
            "{why}: {e}"
        );
    }
    let e = format!(
        "{:#}",
        resolve(None, Some(&dir.path().join("none.pmtiles"))).unwrap_err()
    );
    assert!(e.contains("cannot read"), "{e}");
    let e = resolve(Some("https://tiles.example/style.json"), Some(&path)).unwrap_err();
    assert!(e.to_string().contains("not both"), "{e}");
    let e = resolve(Some("ftp://x/style.json"), None).unwrap_err();
    assert!(e.to_string().contains("basemap_style"), "{e}");
}

#[tokio::test]
async fn config_json_names_the_basemap_and_the_archive_is_served_in_ranges() {
    // None configured: the offline background.
    let plain = env();
    let c = call_as(&plain.app, "GET", "/config.json", Auth::None, None).await;
    assert_eq!(c.status, StatusCode::OK);
    assert_eq!(
        c.json(),
        serde_json::json!({"basemap": null, "pmtiles": null})
    );

    // A style URL.
    let styled = env_with(resolve(Some("https://tiles.example/style.json"), None).unwrap());
    let c = call_as(&styled.app, "GET", "/config.json", Auth::None, None)
        .await
        .json();
    assert_eq!(c["basemap"], "https://tiles.example/style.json");
    assert_eq!(c["pmtiles"], serde_json::Value::Null);

    // A PMTiles archive.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("basemap.pmtiles");
    let tiles: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let bytes = archive(1, r#"{"attribution":"© OpenStreetMap"}"#, &tiles);
    std::fs::write(&path, &bytes).unwrap();
    let server = resolve(None, Some(&path)).unwrap();
    assert!(matches!(server.basemap, Some(Basemap::Pmtiles { .. })));
    let env = env_with(server);
    let c = call_as(&env.app, "GET", "/config.json", Auth::None, None)
        .await
        .json();
    assert_eq!(c["pmtiles"]["url"], "/basemap.pmtiles");
    assert_eq!(c["pmtiles"]["tile_type"], "mvt");
    assert_eq!(c["pmtiles"]["attribution"], "© OpenStreetMap");
    assert_eq!(c["pmtiles"]["max_zoom"], 14);

    // The client reads the header, then a tile's bytes, with range requests; asking for
    // gzip must not compress them (the offsets would no longer be the file's).
    for (range, start, end) in [
        ("bytes=0-126", 0usize, 126usize),
        ("bytes=50000-50999", 50_000, 50_999),
    ] {
        let request = Request::get("/basemap.pmtiles")
            .header(header::RANGE, range)
            .header(header::ACCEPT_ENCODING, "gzip")
            .body(Body::empty())
            .unwrap();
        let a = send(&env.app, request).await;
        assert_eq!(a.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(a.body[..], bytes[start..=end], "{range}");
        assert_eq!(
            a.headers[header::CONTENT_RANGE],
            format!("bytes {start}-{end}/{}", bytes.len()).as_str()
        );
        assert_eq!(a.headers[header::CONTENT_TYPE], "application/vnd.pmtiles");
        assert!(!a.headers.contains_key(header::CONTENT_ENCODING));
    }
    let whole = call_as(&env.app, "GET", "/basemap.pmtiles", Auth::None, None).await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.body.len(), bytes.len());
    let beyond = Request::get("/basemap.pmtiles")
        .header(header::RANGE, format!("bytes={}-", bytes.len() + 10))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&env.app, beyond).await.status,
        StatusCode::RANGE_NOT_SATISFIABLE
    );
    // Without an archive configured there is nothing there.
    let none = call_as(&plain.app, "GET", "/basemap.pmtiles", Auth::None, None).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
}
