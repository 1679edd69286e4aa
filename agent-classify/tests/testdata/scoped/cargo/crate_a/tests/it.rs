//! An integration test with the same name in both crates.

#[test]
fn it_works() {}
