npx vitest run --reporter=default --reporter=json --outputFile.json=/tmp/agent-classify-wide/vitest_missing_dep.json test/pad.test.js
