cargo check --offline --workspace --features geometry/type_error,geometry/borrow_error
