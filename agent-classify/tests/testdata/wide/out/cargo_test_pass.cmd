cargo test --offline --workspace
