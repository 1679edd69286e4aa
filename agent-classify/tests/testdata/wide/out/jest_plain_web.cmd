npx jest --ci --json --outputFile=/tmp/agent-classify-wide/jest_plain_web.json packages/web
