npx jest --ci --json --outputFile=/tmp/agent-classify-wide/jest_flat_all.json
