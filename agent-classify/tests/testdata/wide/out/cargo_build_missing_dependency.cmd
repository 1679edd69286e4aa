cargo build --offline -p geometry --features missing_dependency
