/tmp/h17jstools/node_modules/.bin/jest --ci
