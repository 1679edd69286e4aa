npx vitest run --reporter=default --reporter=json --outputFile.json=/tmp/agent-classify-wide/vitest_text_fail.json
