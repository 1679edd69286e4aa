npx eslint syntax
