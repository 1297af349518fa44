//! The built map UI served from disk: files compressed by the build (`.br`, `.gz`) go to
//! the clients that take them, as the same bytes the plain file holds once decoded.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;

use api::config::ServerConfig;
use axum::http::{StatusCode, header};
use common::*;
use std::io::Write;

#[tokio::test]
async fn precompressed_files_go_to_clients_that_take_them() {
    let ui = tempfile::tempdir().unwrap();
    let script: Vec<u8> = (0..20_000)
        .flat_map(|i| format!("const v{i} = {};\n", i * 31 % 977).into_bytes())
        .collect();
    std::fs::write(
        ui.path().join("index.html"),
        "<!doctype html><title>t</title>",
    )
    .unwrap();
    std::fs::write(ui.path().join("app.js"), &script).unwrap();
    let mut br = Vec::new();
    brotli::CompressorWriter::new(&mut br, 4096, 11, 22)
        .write_all(&script)
        .unwrap();
    std::fs::write(ui.path().join("app.js.br"), &br).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&script).unwrap();
    std::fs::write(ui.path().join("app.js.gz"), gz.finish().unwrap()).unwrap();
    // A stylesheet the build did not compress.
    std::fs::write(
        ui.path().join("style.css"),
        "body { margin: 0 }\n".repeat(500),
    )
    .unwrap();
    let env = env_with(ServerConfig {
        ui_dir: Some(ui.path().to_path_buf()),
        ..ServerConfig::default()
    });

    for (accept, coding, body_len) in [
        (Some("gzip, deflate, br, zstd"), "br", br.len()),
        (Some("gzip"), "gzip", 0),
        (Some("br;q=0, gzip"), "gzip", 0),
        (None, "", script.len()),
        (Some("identity"), "", script.len()),
    ] {
        let a = get_accepting(&env.app, "/app.js", None, accept).await;
        a.expect(StatusCode::OK);
        assert_eq!(a.header(header::CONTENT_ENCODING), coding, "{accept:?}");
        assert!(
            a.content_type().starts_with("text/javascript"),
            "{accept:?}"
        );
        assert_eq!(a.decoded(), script, "{accept:?}");
        if body_len > 0 {
            assert_eq!(a.body.len(), body_len, "{accept:?}: the file as built");
        }
        if !coding.is_empty() {
            assert_eq!(a.header(header::VARY), "accept-encoding");
        }
    }
    // No precompressed copy: the plain file, compressed on the fly for gzip clients.
    let css = get_accepting(&env.app, "/style.css", None, Some("gzip")).await;
    css.expect(StatusCode::OK);
    assert_eq!(
        css.decoded(),
        "body { margin: 0 }\n".repeat(500).into_bytes()
    );
    // The app's own routes still get index.html.
    let page = get_accepting(&env.app, "/planner", None, Some("br")).await;
    page.expect(StatusCode::OK);
    assert!(page.content_type().starts_with("text/html"));
}
