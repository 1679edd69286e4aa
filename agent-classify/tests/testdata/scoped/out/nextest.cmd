cargo nextest run --offline --no-fail-fast
