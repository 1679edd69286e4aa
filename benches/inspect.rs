//! Workspace inspection cost on a generated polyglot monorepo of 100,000
//! source files: `default_oracle().inspect(root)` against a plain recursive
//! `std::fs::read_dir` walk of the same tree (what an oracle that walks
//! everything pays before reading a single manifest).
//!
//! The tree: a cargo workspace (10 crates), a pnpm workspace (20 packages), a
//! `go.work` with 5 modules, a uv workspace with 5 members, a CI workflow,
//! 100,000 source files spread below them in directories of 100, plus a
//! `node_modules` and a `target` directory of 20,000 files each.
//!
//! ```sh
//! cargo bench --bench inspect
//! ```
#![allow(missing_docs)] // criterion's macros generate undocumented items

use agentkit::core::WorkspaceOracle;
use agentkit::oracles::default_oracle;
use criterion::{Criterion, criterion_group, criterion_main};
use std::path::Path;

const SOURCE_FILES: usize = 100_000;
const FILES_PER_DIR: usize = 100;

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

fn make_tree(root: &Path) -> usize {
    write(&root.join(".gitignore"), "/target\nnode_modules/\n");
    write(&root.join("Cargo.toml"), "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n");
    write(
        &root.join("package.json"),
        r#"{"name":"mono","private":true,"packageManager":"pnpm@9.0.0","scripts":{"test":"vitest run"}}"#,
    );
    write(&root.join("pnpm-workspace.yaml"), "packages:\n  - 'packages/*'\n");
    write(&root.join("pnpm-lock.yaml"), "lockfileVersion: '9.0'\n");
    write(
        &root.join("go.work"),
        "go 1.22\n\nuse (\n\t./services/go0\n\t./services/go1\n\t./services/go2\n\t./services/go3\n\t./services/go4\n)\n",
    );
    write(
        &root.join("pyproject.toml"),
        "[project]\nname = \"mono\"\nversion = \"0\"\n[tool.uv.workspace]\nmembers = [\"python/*\"]\n[tool.pytest.ini_options]\n",
    );
    write(&root.join("uv.lock"), "version = 1\n");
    write(
        &root.join(".github/workflows/ci.yml"),
        "jobs:\n  t:\n    steps:\n      - run: cargo test --workspace\n      - run: pnpm test\n",
    );
    let mut homes = Vec::new();
    for i in 0..10 {
        let d = root.join(format!("crates/c{i}"));
        write(&d.join("Cargo.toml"), &format!("[package]\nname = \"c{i}\"\nversion = \"0.1.0\"\n"));
        homes.push((d.join("src"), "rs"));
    }
    for i in 0..20 {
        let d = root.join(format!("packages/p{i}"));
        write(&d.join("package.json"), &format!(r#"{{"name":"p{i}","scripts":{{"test":"vitest run"}}}}"#));
        homes.push((d.join("src"), "ts"));
    }
    for i in 0..5 {
        let d = root.join(format!("services/go{i}"));
        write(&d.join("go.mod"), &format!("module example.com/go{i}\n\ngo 1.22\n"));
        homes.push((d.join("pkg"), "go"));
        let p = root.join(format!("python/py{i}"));
        write(&p.join("pyproject.toml"), &format!("[project]\nname = \"py{i}\"\nversion = \"0\"\n"));
        homes.push((p.join("src"), "py"));
    }
    let dirs = SOURCE_FILES / FILES_PER_DIR;
    for d in 0..dirs {
        let (home, ext) = &homes[d % homes.len()];
        let dir = home.join(format!("m{d}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        for f in 0..FILES_PER_DIR {
            std::fs::write(dir.join(format!("f{f}.{ext}")), "x").expect("write");
        }
    }
    for (junk, n) in [("node_modules", 20_000), ("target/debug/deps", 20_000)] {
        for i in 0..n {
            let dir = root.join(junk).join(format!("d{}", i / 500));
            if i % 500 == 0 {
                std::fs::create_dir_all(&dir).expect("mkdir");
            }
            std::fs::write(dir.join(format!("f{i}.js")), "x").expect("write");
        }
    }
    SOURCE_FILES + 40_000
}

/// What a naive oracle pays: every directory listed, every entry looked at.
fn naive_walk(dir: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        n += 1;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            n += naive_walk(&entry.path());
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("mono");
    let files = make_tree(&root);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let oracle = default_oracle();
    let profile = rt.block_on(oracle.inspect(&root)).expect("inspect");
    let primary = profile.primary().expect("primary");
    eprintln!(
        "tree: ~{files} files; {} project(s), primary {} at {:?} with {} member(s); naive walk sees {} entries",
        profile.projects.len(),
        primary.build_system,
        primary.path,
        primary.members.len(),
        naive_walk(&root)
    );

    let mut group = c.benchmark_group("inspect_100k_monorepo");
    group.sample_size(10);
    group
        .bench_function("agentkit_default_oracle", |b| b.iter(|| rt.block_on(oracle.inspect(&root)).expect("inspect")));
    group.bench_function("naive_read_dir_walk", |b| b.iter(|| naive_walk(&root)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
