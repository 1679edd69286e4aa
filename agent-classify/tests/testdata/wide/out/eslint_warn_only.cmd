npx eslint src/warn_only.js
