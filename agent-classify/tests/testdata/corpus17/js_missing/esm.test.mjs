import test from 'node:test';
import assert from 'node:assert';
import leftPad from 'left-pad';

test('pads', () => {
  assert.strictEqual(leftPad('1', 3, '0'), '001');
});
