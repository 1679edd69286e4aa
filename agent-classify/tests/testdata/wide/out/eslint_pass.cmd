npx eslint src/good.js
