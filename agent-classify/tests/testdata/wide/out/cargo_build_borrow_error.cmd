cargo build --offline -p geometry --features borrow_error
