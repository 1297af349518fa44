//! A release build embeds `map-ui/dist` (see `server::ui`): rebuild when the UI build
//! changes, including when it appears after a first build without it. Debug builds read the
//! folder at run time, so they need no rebuild.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("PROFILE").is_ok_and(|p| p == "release") {
        println!("cargo:rerun-if-changed=../map-ui/dist");
    }
}
