npx vitest run -c vitest.env.config.js --reporter=default --reporter=json --outputFile.json=/tmp/agent-classify-wide/vitest_env.json
