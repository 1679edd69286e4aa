npx vitest run --reporter=json
