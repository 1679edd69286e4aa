cargo test --offline --no-fail-fast --workspace --features geometry/failing_tests,app/failing_tests
