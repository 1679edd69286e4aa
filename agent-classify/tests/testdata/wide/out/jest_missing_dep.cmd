npx jest --ci --verbose --json --outputFile=/tmp/agent-classify-wide/jest_missing_dep.json pad.test.js
