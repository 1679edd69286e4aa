npx jest --ci --json --outputFile=/tmp/agent-classify-wide/jest_plain_all.json
