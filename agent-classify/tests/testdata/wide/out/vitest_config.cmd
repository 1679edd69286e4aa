npx vitest run -c vitest.broken.config.js
