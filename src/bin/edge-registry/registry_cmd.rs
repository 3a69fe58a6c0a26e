//! `edge-registry verify` and `edge-registry models`: the client side of a registry from the
//! command line, through the verifying TUF client (`Updater`) over plain directories or URLs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use edge_registry::catalogue::{self, Aliases, Catalogue, CataloguePath, ModelCard, SignedFile};
use edge_registry::clock::SystemClock;
use edge_registry::engine::{Model, ModelSchema};
use edge_registry::error::{Code, ErrorCode};
use edge_registry::fetch::native::NativeFetch;
use edge_registry::fetch::Fetch;
use edge_registry::store::MemoryStore;
use edge_registry::tuf::{TargetInfo, TargetListing, Updater, UpdaterConfig};
use serde_json::{json, Value};

type Client = Updater<NativeFetch, MemoryStore, SystemClock>;

fn fail(e: &dyn ErrorCode) -> String {
    format!("{}: {e}", e.code())
}

fn join(base: &str, sub: &str) -> String {
    format!("{}/{sub}", base.trim_end_matches('/'))
}

/// A client for the registry at `source` (a directory or an `http(s)://`/`file://` URL whose
/// `metadata/` and `targets/` are the repository's), trusting `root` (or, without one, the
/// repository's own `metadata/root.json`: integrity only, not authenticity).
fn client(source: &str, root: Option<&PathBuf>) -> Result<(Client, bool), String> {
    let fetch = NativeFetch::new();
    let meta = join(source, "metadata");
    let (root_bytes, pinned) = match root {
        Some(p) => (
            std::fs::read(p).map_err(|e| format!("NOT_FOUND: cannot read {}: {e}", p.display()))?,
            true,
        ),
        None => {
            eprintln!(
                "WARNING: no --root given: trusting {} as it is served now (trust on first \
                 use). Whoever controls the repository or the path to it chooses what is \
                 checked; this shows integrity, not who signed. Pin the publisher's root with \
                 --root ROOT.json.",
                join(&meta, "root.json")
            );
            (
                pollster::block_on(fetch.fetch_bytes(&join(&meta, "root.json"), 512_000))
                    .map_err(|e| fail(&e))?,
                false,
            )
        }
    };
    let config = UpdaterConfig::new(meta, join(source, "targets"));
    let client =
        Updater::new(config, fetch, MemoryStore::new(), SystemClock).with_trusted_root(root_bytes);
    Ok((client, pinned))
}

fn roles_json(client: &Client, listing: &TargetListing) -> Value {
    let mut roles = serde_json::Map::new();
    if let Some(set) = client.trusted() {
        let mut add = |name: &str, version: u64, expires: &str| {
            roles.insert(
                name.to_string(),
                json!({"version": version, "expires": expires}),
            );
        };
        add("root", set.root().version(), set.root().expires());
        if let Some(t) = set.timestamp() {
            add("timestamp", t.version(), t.expires());
        }
        if let Some(t) = set.snapshot() {
            add("snapshot", t.version(), t.expires());
        }
        for r in &listing.roles {
            if let Some(t) = set.targets(r) {
                add(r, t.version(), t.expires());
            }
        }
    }
    Value::Object(roles)
}

/// Downloads a target through the client's length and hash checks.
fn download(client: &Client, info: &TargetInfo) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    pollster::block_on(client.download_target(info, &mut |chunk| {
        bytes.extend_from_slice(chunk);
        Ok(())
    }))
    .map_err(|e| fail(&e))?;
    Ok(bytes)
}

/// The catalogue of a registry as its publisher sees it: every version must have a card.
fn publisher_view(listing: &TargetListing) -> Catalogue {
    let mut cat =
        Catalogue::from_targets(listing.targets.iter().cloned().map(SignedFile::unlocated));
    cat.require_cards();
    cat
}

/// A signed target in `models --json`.
fn target_json(t: &TargetInfo) -> Value {
    let mut v = serde_json::Map::new();
    v.insert("path".into(), json!(t.path));
    v.insert("length".into(), json!(t.length));
    if let Some(h) = t.hashes.get("sha256") {
        v.insert("sha256".into(), json!(h));
    }
    v.insert("role".into(), json!(t.role));
    Value::Object(v)
}

fn catalogue(client: &Client, listing: &TargetListing) -> Result<Catalogue, String> {
    let mut cat = publisher_view(listing);
    for t in &listing.targets {
        if let Some(CataloguePath::Aliases { .. }) = catalogue::parse_path(&t.path) {
            let bytes = download(client, t)?;
            match Aliases::from_bytes(&t.path, &bytes) {
                Ok(doc) => cat.set_aliases(doc),
                Err(e) => cat.problems.push(e.to_string()),
            }
        }
    }
    Ok(cat)
}

// ---------------------------------------------------------------------------------------------
// verify

/// Options of `verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The registry: a directory (REPO) or a URL serving REPO/metadata and REPO/targets.
    #[arg(value_name = "REPO_DIR_OR_URL")]
    source: String,
    /// The trusted root metadata the client pins (e.g. the first root the publisher gave out).
    #[arg(long, value_name = "ROOT")]
    root: PathBuf,
    /// Skip loading each model with the inference engine.
    #[arg(long)]
    no_load: bool,
}

/// `edge-registry verify`: the full client workflow, every target downloaded and checked,
/// every card and aliases document read, every model loaded. Exit 0 only when all of it holds.
pub fn verify(a: VerifyArgs) -> Result<(), String> {
    let t0 = Instant::now();
    let (mut client, _) = client(&a.source, Some(&a.root))?;
    let report = pollster::block_on(client.refresh()).map_err(|e| fail(&e))?;
    let listing = pollster::block_on(client.list_targets()).map_err(|e| fail(&e))?;
    println!(
        "verified {} against {} (root v{}, {} rotation(s))",
        a.source,
        a.root.display(),
        report.root.version,
        report.root_rotations
    );
    let roles = roles_json(&client, &listing);
    if let Some(obj) = roles.as_object() {
        for (name, r) in obj {
            println!(
                "  {name:<12} v{:<4} expires {}",
                r["version"],
                r["expires"].as_str().unwrap_or("")
            );
        }
    }
    let Downloaded {
        total,
        aliases,
        mut problems,
    } = download_all(&client, &listing, !a.no_load)?;
    println!(
        "  {} targets downloaded ({total} bytes), every length and hash checked",
        listing.targets.len()
    );
    let mut cat = publisher_view(&listing);
    for (path, bytes) in aliases {
        match Aliases::from_bytes(&path, &bytes) {
            Ok(doc) => cat.set_aliases(doc),
            Err(e) => problems.push((e.code().into(), e.to_string())),
        }
    }
    for p in &cat.problems {
        problems.push((Code::BadCatalogue.as_str().into(), p.clone()));
    }
    for i in &listing.ignored {
        problems.push((
            Code::NotDelegated.as_str().into(),
            format!(
                "role {} lists {}, which clients ignore: {}",
                i.role, i.path, i.reason
            ),
        ));
    }
    print_versions(&cat);
    println!("  took {} ms", t0.elapsed().as_millis());
    if let Some((code, first)) = problems.first() {
        for (c, p) in &problems {
            eprintln!("{c}: {p}");
        }
        return Err(format!(
            "{code}: {} problem(s) found; the first: {first}",
            problems.len()
        ));
    }
    println!("OK");
    Ok(())
}

/// What `verify` downloaded: the byte count, the aliases documents, and the problems found
/// on the way (`(code, message)`, a model the engine refused).
struct Downloaded {
    total: u64,
    aliases: Vec<(String, Vec<u8>)>,
    problems: Vec<(String, String)>,
}

/// Downloads every target (each length and hash checked); loads each model with a good card
/// when `load` is set.
fn download_all(
    client: &Client,
    listing: &TargetListing,
    load: bool,
) -> Result<Downloaded, String> {
    let mut total = 0u64;
    let mut aliases: Vec<(String, Vec<u8>)> = Vec::new();
    let mut problems: Vec<(String, String)> = Vec::new();
    for info in &listing.targets {
        let bytes = download(client, info)?;
        total += bytes.len() as u64;
        match catalogue::parse_path(&info.path) {
            Some(CataloguePath::Aliases { .. }) => aliases.push((info.path.clone(), bytes)),
            Some(CataloguePath::Model { .. }) if load => {
                // A bad card is reported by the catalogue below; a good one is checked against
                // the graph when the engine loads the model.
                if let Ok(card) = ModelCard::from_custom(&info.path, info.custom.as_ref()) {
                    let declared = ModelSchema {
                        inputs: card.inputs,
                        outputs: card.outputs,
                    };
                    if let Err(e) = Model::load(&bytes, Some(&declared)) {
                        problems.push((e.code().into(), format!("{}: {e}", info.path)));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(Downloaded {
        total,
        aliases,
        problems,
    })
}

/// `verify`'s listing: each model's versions and aliases, and the targets outside `models/`.
fn print_versions(cat: &Catalogue) {
    for m in cat.models.values() {
        let versions: Vec<&str> = m.versions.iter().map(|v| v.version.as_str()).collect();
        let aliases: Vec<String> = m
            .known_aliases()
            .iter()
            .map(|(k, v)| format!("{k} -> {v}"))
            .collect();
        println!(
            "  model {}: versions {}{}",
            m.name,
            versions.join(", "),
            if aliases.is_empty() {
                String::new()
            } else {
                format!("; {}", aliases.join(", "))
            }
        );
        print_rollouts("    ", m);
    }
    if !cat.other_targets.is_empty() {
        println!(
            "  {} other target(s) outside models/",
            cat.other_targets.len()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// models

/// Options of `models`.
#[derive(Args, Debug)]
pub struct ModelsArgs {
    /// The registry: a directory (REPO) or a URL serving REPO/metadata and REPO/targets.
    #[arg(value_name = "REPO_DIR_OR_URL")]
    source: String,
    /// The trusted root to verify against (without it the repository's own root is used:
    /// the listing is then consistent but not authenticated).
    #[arg(long, value_name = "ROOT")]
    root: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Each model of `models --json`: aliases, aliases document, versions with target, expiry of
/// the signing role, card and files.
fn models_json(cat: &Catalogue, roles: &Value) -> Vec<Value> {
    let role_expiry = |role: &str| {
        roles
            .get(role)
            .and_then(|r| r.get("expires"))
            .cloned()
            .unwrap_or_default()
    };
    cat.models
        .values()
        .map(|m| {
            let versions: Vec<Value> = m
                .versions
                .iter()
                .map(|v| {
                    let files: BTreeMap<&String, Value> = v
                        .files
                        .iter()
                        .map(|(f, t)| (f, target_json(&t.target)))
                        .collect();
                    json!({
                        "version": v.version,
                        "target": target_json(&v.target),
                        "expires": role_expiry(&v.target.role),
                        "card": v.model_card,
                        "files": files,
                    })
                })
                .collect();
            json!({
                "name": m.name,
                "aliases": m.known_aliases(),
                "aliases_target": m.aliases_target.as_ref().map(|t| target_json(&t.target)),
                "rollouts": m.rollouts,
                "versions": versions,
            })
        })
        .collect()
}

/// The text listing of `models`: one line per version with its task, size, digest, signing
/// role, creation time and aliases.
fn print_models(cat: &Catalogue) {
    for m in cat.models.values() {
        println!("{}", m.name);
        let aliases = m.known_aliases();
        for v in &m.versions {
            let Some(card) = &v.model_card else { continue };
            let tags: Vec<&str> = aliases
                .iter()
                .filter(|(_, ver)| **ver == v.version)
                .map(|(k, _)| k.as_str())
                .collect();
            println!(
                "  {:<8} {:<14} {:>9} bytes  sha256 {}  role {}{}{}",
                v.version,
                match card.task() {
                    edge_registry::eval::TaskKind::Classification => "classification",
                    edge_registry::eval::TaskKind::Regression => "regression",
                },
                v.target.length,
                v.sha256()
                    .as_deref()
                    .map_or("-", |h| h.get(..12).unwrap_or(h)),
                v.target.role,
                card.created
                    .as_deref()
                    .map(|c| format!("  created {c}"))
                    .unwrap_or_default(),
                if tags.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", tags.join(", "))
                }
            );
        }
        print_rollouts("  ", m);
    }
}

/// Each staged rollout of a model, and where it stands now.
fn print_rollouts(indent: &str, m: &edge_registry::catalogue::ModelEntry) {
    let aliases = m.known_aliases();
    let now = edge_registry::clock::Clock::now(&edge_registry::clock::SystemClock);
    for (alias, r) in &m.rollouts {
        let baseline = aliases.get(alias).map_or("?", String::as_str);
        super::publish_cmd::print_rollout(indent, alias, baseline, r, now);
    }
}

/// `edge-registry models`.
pub fn models(a: ModelsArgs) -> Result<(), String> {
    let (mut client, pinned) = client(&a.source, a.root.as_ref())?;
    pollster::block_on(client.refresh()).map_err(|e| fail(&e))?;
    let listing = pollster::block_on(client.list_targets()).map_err(|e| fail(&e))?;
    let cat = catalogue(&client, &listing)?;
    let roles = roles_json(&client, &listing);
    let models = models_json(&cat, &roles);
    if a.json {
        let out = json!({
            "repository": a.source,
            "verified": pinned,
            "roles": roles,
            "models": models,
            "other_targets": cat.other_targets,
            "problems": cat.problems,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| format!("INTERNAL: {e}"))?
        );
        return Ok(());
    }
    if !pinned {
        println!("(no --root: checked against the repository's own root, not authenticated)");
    }
    print_models(&cat);
    if let Some(obj) = roles.as_object() {
        let list: Vec<String> = obj
            .iter()
            .map(|(k, v)| format!("{k} {}", v["expires"].as_str().unwrap_or("")))
            .collect();
        println!("expires: {}", list.join(", "));
    }
    for p in &cat.problems {
        eprintln!("warning: {p}");
    }
    Ok(())
}
