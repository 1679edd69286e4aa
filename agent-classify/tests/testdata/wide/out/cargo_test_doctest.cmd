cargo test --offline --no-fail-fast -p geometry --features failing_doctest
