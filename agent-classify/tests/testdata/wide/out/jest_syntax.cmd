npx jest --ci --verbose --json --outputFile=/tmp/agent-classify-wide/jest_syntax.json syntax.test.js
