cargo clippy --offline --workspace --features geometry/lint -- -D warnings
