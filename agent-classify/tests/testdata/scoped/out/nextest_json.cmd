env NEXTEST_EXPERIMENTAL_LIBTEST_JSON=1 cargo nextest run --offline --no-fail-fast --message-format libtest-json
