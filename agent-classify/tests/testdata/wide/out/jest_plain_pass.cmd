npx jest --ci --json --outputFile=/tmp/agent-classify-wide/jest_plain_pass.json packages/web/test/format.test.js
