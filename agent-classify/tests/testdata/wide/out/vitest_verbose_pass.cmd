npx vitest run --reporter=verbose --reporter=json --outputFile.json=/tmp/agent-classify-wide/vitest_verbose_pass.json test/cart.test.js
