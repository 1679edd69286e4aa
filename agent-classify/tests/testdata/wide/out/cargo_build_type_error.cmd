cargo build --offline -p geometry --features type_error
