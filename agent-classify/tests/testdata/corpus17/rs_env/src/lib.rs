pub fn api_key() -> String {
    std::env::var("H17_API_KEY").unwrap()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_api_key() {
        assert_eq!(super::api_key(), "secret");
    }

    #[test]
    fn reads_fixture_file() {
        let users = std::fs::read_to_string("tests/data/users.json").unwrap();
        assert!(users.starts_with('['));
    }

    #[test]
    fn binds_busy_port() {
        let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    }

    #[test]
    fn adds() {
        assert_eq!(2 + 2, 4);
    }
}
