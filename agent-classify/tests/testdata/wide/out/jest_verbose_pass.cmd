npx jest --ci --verbose --json --outputFile=/tmp/agent-classify-wide/jest_verbose_pass.json packages/core/test/math.test.js packages/web/test/format.test.js
