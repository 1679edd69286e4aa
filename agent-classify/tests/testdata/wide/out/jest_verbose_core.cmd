npx jest --ci --verbose --json --outputFile=/tmp/agent-classify-wide/jest_verbose_core.json packages/core
