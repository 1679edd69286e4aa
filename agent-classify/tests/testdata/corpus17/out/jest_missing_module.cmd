/tmp/h17jstools/node_modules/.bin/jest --ci pad_jest.test.js
