cargo build --offline -p geometry --features syntax_error
