const test = require('node:test');
const assert = require('node:assert');
const leftPad = require('left-pad');

test('pads', () => {
  assert.strictEqual(leftPad('1', 3, '0'), '001');
});
