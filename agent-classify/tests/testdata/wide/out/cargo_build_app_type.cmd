cargo build --offline --workspace --features app/type_error
