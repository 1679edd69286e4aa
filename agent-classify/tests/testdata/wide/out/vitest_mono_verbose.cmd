npx vitest run --reporter=verbose --reporter=json --outputFile.json=/tmp/agent-classify-wide/vitest_mono_verbose.json
