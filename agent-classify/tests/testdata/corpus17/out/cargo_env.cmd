cargo test --offline --no-fail-fast
