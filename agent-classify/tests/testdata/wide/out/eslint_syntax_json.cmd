npx eslint -f json syntax
