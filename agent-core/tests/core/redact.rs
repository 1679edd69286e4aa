//! Secrets in command lines and environment names (issue 19): a secret in
//! any position never reaches the redacted form; ordinary commands pass
//! through unchanged.

use agent_core::exec::{CommandSpec, EnvPolicy, MASK, redact_args, redact_command_line};
use proptest::prelude::*;

#[test]
fn secret_looking_variable_names_are_recognised_and_ordinary_ones_pass() {
    let table: &[(&str, bool)] = &[
        // Secrets, old and new rules.
        ("OPENAI_API_KEY", true),
        ("GITHUB_TOKEN", true),
        ("AWS_SECRET_ACCESS_KEY", true),
        ("PGPASSWORD", true),
        ("GOOGLE_APPLICATION_CREDENTIALS", true),
        ("DATABASE_URL", true),
        ("TEST_DATABASE_URL", true),
        ("DB_URL", true),
        ("REDIS_URL", true),
        ("MONGODB_URI", true),
        ("CELERY_BROKER_URL", true),
        ("SENTRY_DSN", true),
        ("DSN", true),
        ("GITHUB_PAT", true),
        ("AZURE_DEVOPS_PAT", true),
        ("NPM_AUTH", true),
        ("PROXY_AUTHORIZATION", true),
        ("DB_PASS", true),
        ("SMTP_PASS", true),
        ("MYSQL_PWD", true),
        ("SESSION_COOKIE", true),
        ("AIRFLOW_CONN_MY_DB", true),
        ("AZURE_STORAGE_CONNECTION_STRING", true),
        ("SLACK_WEBHOOK_URL", true),
        ("GPG_PASSPHRASE", true),
        ("SSH_AUTH_SOCK", true),
        ("database_url", true),
        // Not secrets.
        ("PATH", false),
        ("PWD", false),
        ("OLDPWD", false),
        ("HOME", false),
        ("XAUTHORITY", false),
        ("GIT_AUTHOR_NAME", false),
        ("LD_LIBRARY_PATH", false),
        ("CARGO_TARGET_DIR", false),
        ("OPENAI_BASE_URL", false),
        ("RUST_BACKTRACE", false),
        ("PYTHONPATH", false),
        ("PASS", false),
        ("AUTH", false),
        ("BYPASS_CACHE", false),
        ("XDG_SESSION_TYPE", false),
        ("CONNECTION_TIMEOUT", false),
    ];
    let wrong: Vec<_> = table.iter().filter(|(name, secret)| EnvPolicy::looks_secret(name) != *secret).collect();
    assert!(wrong.is_empty(), "misjudged: {wrong:?}");
}

#[test]
fn a_secret_variable_is_kept_from_a_child_even_when_inheriting_everything() {
    let host = [("DATABASE_URL", "postgres://u:p@h/db"), ("PWD", "/work"), ("GITHUB_PAT", "x"), ("PATH", "/bin")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let env = EnvPolicy::default().inherit_all(true).resolve(host);
    assert_eq!(env.keys().map(String::as_str).collect::<Vec<_>>(), ["PATH", "PWD"]);
}

#[test]
fn each_kind_of_secret_is_masked_and_the_rest_of_the_line_kept() {
    let table: &[(&[&str], &str)] = &[
        (&["gh", "--token", "abc123", "repo"], "gh --token *** repo"),
        (&["tool", "--token=abc123"], "tool --token=***"),
        (&["tool", "--api-key", "abc"], "tool --api-key ***"),
        (&["tool", "--password", "hunter2", "--verbose"], "tool --password *** --verbose"),
        (&["tool", "--client-secret=xyz"], "tool --client-secret=***"),
        (
            &["env", "GITHUB_TOKEN=abc", "DATABASE_URL=postgres://u:p@h/db", "cargo", "test"],
            "env GITHUB_TOKEN=*** DATABASE_URL=*** cargo test",
        ),
        (&["git", "clone", "https://me:hunter2@example.com/r.git"], "git clone https://me:***@example.com/r.git"),
        (
            &["git", "clone", "https://ghp_abcdefghijklmnopqrstuv@github.com/o/r"],
            "git clone https://***@github.com/o/r",
        ),
        (&["git", "clone", "ssh://git@github.com/o/r"], "git clone ssh://git@github.com/o/r"),
        (
            &["curl", "https://api.example.com/v1?limit=5&access_token=abc&x=1"],
            "curl https://api.example.com/v1?limit=5&access_token=***&x=1",
        ),
        (&["curl", "-H", "Authorization: Bearer abc.def"], "curl -H Authorization: Bearer ***"),
        (&["curl", "-H", "Authorization: Basic dXNlcjpwYXNz"], "curl -H Authorization: Basic ***"),
        (&["curl", "-H", "authorization: abc"], "curl -H authorization: ***"),
        (&["curl", "-H", "X-Api-Key: abc"], "curl -H X-Api-Key: ***"),
        (&["curl", "-H", "X-Api-Key:abc"], "curl -H X-Api-Key:***"),
        (&["curl", "-H", "Cookie: session=abc"], "curl -H Cookie: ***"),
        (&["curl", "-u", "me:hunter2", "https://h"], "curl -u me:*** https://h"),
        (&["curl", "-ume:hunter2", "https://h"], "curl -ume:*** https://h"),
        (
            &["sh", "-c", "curl -s -H 'Authorization: Bearer abc' https://h | jq ."],
            "sh -c curl -s -H 'Authorization: Bearer ***' https://h | jq .",
        ),
        (&["sh", "-c", "OPENAI_API_KEY=sk-abcdefghijkl123 python run.py"], "sh -c OPENAI_API_KEY=*** python run.py"),
        (&["echo", "sk-abcdefghijklmnop"], "echo ***"),
        (&["echo", "key=\"ghp_abcdefghijklmnop\""], "echo key=\"***\""),
        (&["aws", "--profile", "AKIAABCDEFGHIJKLMNOP"], "aws --profile ***"),
        (&["slack", "xoxb-123456789012-abc"], "slack ***"),
        (&["gh", "auth", "github_pat_11ABCDEFG0123456789"], "gh auth ***"),
    ];
    for (argv, expected) in table {
        assert_eq!(redact_args(argv).join(" "), *expected, "{argv:?}");
        let (program, args) = argv.split_first().unwrap();
        assert_eq!(CommandSpec::new(*program).args(args.iter().copied()).display_redacted(), *expected);
    }
}

#[test]
fn ordinary_commands_come_back_unchanged() {
    let commands: &[&[&str]] = &[
        &["cargo", "test", "-p", "foo"],
        &["cargo", "test", "--", "--test-threads=1"],
        &["pytest", "-k", "a and b"],
        &["pytest", "-p", "no:cacheprovider", "tests/test_x.py::test_y"],
        &["git", "commit", "-m", "msg"],
        &["git", "commit", "-m", "Basic fixes: token handling, password reset"],
        &["git", "log", "--author=me", "--format=%H"],
        &["npm", "run", "test", "--", "--watch=false"],
        &["go", "test", "./...", "-run", "^TestX$"],
        &["sort", "--key", "2", "file"],
        &["docker", "login", "--password-stdin", "registry.example.com"],
        &["tool", "--no-password", "x"],
        &["env", "PWD=/work", "PATH=/bin", "make"],
        &["pip", "install", "sk-video", "scikit-learn"],
        &["curl", "https://example.com/a?q=1&page=2"],
        &["sh", "-c", "cargo build && cargo test --workspace"],
        &["python", "-m", "pytest", "--monkeypatch"],
        &["jest", "--ci", "--json", "--outputFile={report}"],
    ];
    for argv in commands {
        assert_eq!(redact_args(argv), argv.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "{argv:?}");
        assert_eq!(redact_command_line(&argv.join(" ")), argv.join(" "));
    }
}

/// Command lines with a secret (`{S}`) in every position the redaction covers.
const TEMPLATES: &[&[&str]] = &[
    &["tool", "--token", "{S}"],
    &["tool", "--token={S}"],
    &["tool", "--api-key", "{S}"],
    &["tool", "--password={S}", "-v"],
    &["tool", "--auth-token", "{S}"],
    &["tool", "--secret", "{S}"],
    &["env", "GITHUB_TOKEN={S}", "cargo", "test"],
    &["env", "DATABASE_URL=postgres://app:{S}@db:5432/app", "run"],
    &["env", "SENTRY_DSN={S}", "run"],
    &["git", "clone", "https://user:{S}@example.com/repo.git"],
    &["git", "push", "https://x-access-token:{S}@github.com/o/r", "main"],
    &["curl", "https://example.com/x?a=1&api_key={S}"],
    &["curl", "-H", "Authorization: Bearer {S}", "https://example.com"],
    &["curl", "-H", "Authorization: Basic {S}", "https://example.com"],
    &["curl", "-H", "Authorization: {S}", "https://example.com"],
    &["curl", "-H", "X-Api-Key: {S}", "https://example.com"],
    &["curl", "-u", "me:{S}", "https://example.com"],
    &["sh", "-c", "curl -H \"Authorization: Bearer {S}\" https://h && echo done"],
    &["sh", "-c", "export OPENAI_API_KEY={S}; python app.py"],
    &["run", "sk-{S}"],
    &["run", "ghp_{S}"],
    &["run", "github_pat_{S}"],
    &["run", "xoxb-{S}"],
    &["run", "--header=x:glpat-{S}"],
];

proptest! {
    #[test]
    fn a_secret_in_any_position_never_appears_in_the_redacted_command_line(
        secret in "[A-Za-z0-9]{10,24}",
        template in prop::sample::select(TEMPLATES),
    ) {
        let argv: Vec<String> = template.iter().map(|w| w.replace("{S}", &secret)).collect();
        let redacted = redact_args(&argv).join(" ");
        prop_assert!(!redacted.contains(&secret), "{} leaks in {}", secret, redacted);
        prop_assert!(redacted.contains(MASK), "{}", redacted);
        prop_assert!(redacted.starts_with(template[0]), "the program was masked: {}", redacted);
        let line = redact_command_line(&argv.join(" "));
        prop_assert!(!line.contains(&secret), "{} leaks in {}", secret, line);
        let (program, args) = argv.split_first().unwrap();
        let shown = CommandSpec::new(program.clone()).args(args.iter().cloned()).display_redacted();
        prop_assert!(!shown.contains(&secret), "{} leaks in {}", secret, shown);
    }

    #[test]
    fn a_command_of_ordinary_words_comes_back_unchanged(
        words in prop::collection::vec(
            prop_oneof![
                "[a-z][a-z0-9./]{0,8}".prop_filter("a header scheme", |w| w != "bearer"),
                prop::sample::select(vec!["-p", "-k", "-m", "--release", "--workspace", "-v", "--", "./...", "--key"])
                    .prop_map(str::to_owned),
            ],
            1..8,
        ),
    ) {
        prop_assert_eq!(redact_args(&words), words.clone());
    }
}
