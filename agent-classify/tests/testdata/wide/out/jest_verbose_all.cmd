npx jest --ci --verbose --json --outputFile=/tmp/agent-classify-wide/jest_verbose_all.json
