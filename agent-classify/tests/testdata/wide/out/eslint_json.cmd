npx eslint -f json src
