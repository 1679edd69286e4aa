npx eslint -c bad.config.js src
