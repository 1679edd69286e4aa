npx vitest run --reporter=default --reporter=json --outputFile.json=/tmp/agent-classify-wide/vitest_syntax.json test/syntax.test.js
