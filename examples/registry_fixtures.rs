//! Writes the test registries (`tests/common/registry_fixtures.rs`) to a directory, one
//! sub-directory per variant, for the HTTP server the browser tests use:
//!
//! ```sh
//! cargo run --example registry_fixtures -- target/registry-fixtures          # test variants
//! cargo run --example registry_fixtures -- target/registry-bench --bench     # 5 MB and 50 MB
//! ```
//!
//! The directory is replaced. Prints the trusted root's path.

#[path = "../tests/common/registry_fixtures.rs"]
mod registry_fixtures;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(
        args.next()
            .ok_or("usage: registry_fixtures DIR [--bench]")?,
    );
    let bench = args.next().as_deref() == Some("--bench");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    if bench {
        registry_fixtures::write(&dir.join("bench"), &registry_fixtures::bench())?;
    } else {
        for (name, published) in registry_fixtures::all() {
            registry_fixtures::write(&dir.join(name), &published)?;
        }
    }
    let root = dir.join("root.json");
    std::fs::write(&root, registry_fixtures::trusted_root())?;
    println!("{}", root.display());
    Ok(())
}

#[cfg(target_arch = "wasm32")]
fn main() {}
