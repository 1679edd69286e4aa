cargo clippy --offline --workspace -- -D warnings
