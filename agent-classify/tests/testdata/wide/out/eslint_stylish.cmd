npx eslint src
