npx jest --ci --json --outputFile=/tmp/agent-classify-wide/jest_env.json env.test.js
