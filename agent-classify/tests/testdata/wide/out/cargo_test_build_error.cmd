cargo test --offline --workspace --features geometry/unresolved_name
