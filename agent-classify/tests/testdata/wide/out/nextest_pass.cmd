cargo nextest run --offline --workspace
