cargo build --offline -p geometry --features unresolved_name
