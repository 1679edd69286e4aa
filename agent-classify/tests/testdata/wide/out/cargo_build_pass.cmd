cargo build --offline --workspace
