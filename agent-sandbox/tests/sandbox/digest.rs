//! tree_digest: what changes a tree's digest and what does not.

use agent_sandbox::tree_digest;
use std::os::unix::fs::PermissionsExt;

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "fn a() {}\n").unwrap();
    std::fs::write(dir.path().join("run.sh"), "#!/bin/sh\n").unwrap();
    dir
}

#[test]
fn content_mode_names_and_links_change_the_digest_build_output_does_not() {
    let a = tree();
    let base = tree_digest(a.path()).unwrap();
    // Build output, dependencies and git data are not part of the result.
    std::fs::create_dir_all(a.path().join("target/debug")).unwrap();
    std::fs::write(a.path().join("target/debug/app"), "binary").unwrap();
    std::fs::create_dir_all(a.path().join(".git")).unwrap();
    std::fs::write(a.path().join(".git/HEAD"), "ref").unwrap();
    assert_eq!(tree_digest(a.path()).unwrap(), base);

    let mode = tree();
    std::fs::set_permissions(mode.path().join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_ne!(tree_digest(mode.path()).unwrap(), base, "the executable bit counts");

    let renamed = tree();
    std::fs::rename(renamed.path().join("run.sh"), renamed.path().join("run2.sh")).unwrap();
    assert_ne!(tree_digest(renamed.path()).unwrap(), base, "names count");

    let linked = tree();
    std::os::unix::fs::symlink("src/lib.rs", linked.path().join("link")).unwrap();
    let with_link = tree_digest(linked.path()).unwrap();
    assert_ne!(with_link, base);
    std::fs::remove_file(linked.path().join("link")).unwrap();
    std::os::unix::fs::symlink("run.sh", linked.path().join("link")).unwrap();
    assert_ne!(tree_digest(linked.path()).unwrap(), with_link, "a link's target counts");

    // Moving bytes between files is a different tree even with the same concatenation.
    let x = tempfile::tempdir().unwrap();
    std::fs::write(x.path().join("a"), "ab").unwrap();
    std::fs::write(x.path().join("b"), "").unwrap();
    let y = tempfile::tempdir().unwrap();
    std::fs::write(y.path().join("a"), "a").unwrap();
    std::fs::write(y.path().join("b"), "b").unwrap();
    assert_ne!(tree_digest(x.path()).unwrap(), tree_digest(y.path()).unwrap());
}
