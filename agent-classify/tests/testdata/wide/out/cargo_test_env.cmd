cargo test --offline --no-fail-fast -p geometry --features env_tests
