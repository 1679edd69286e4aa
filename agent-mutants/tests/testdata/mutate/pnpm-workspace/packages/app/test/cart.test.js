const test = require('node:test');
const assert = require('node:assert');
const { isFree } = require('@shop/pricing');
const { total } = require('../src/cart.js');

test('total applies the discount', () => {
  assert.strictEqual(total([{ price: 500, qty: 2 }], 15), 850);
});

test('isFree', () => {
  assert.ok(isFree(0));
});
