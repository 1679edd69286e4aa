const { total } = require("../src/cart");

test("totals a cart", () => {
  expect(total([1, 2])).toBe(3);
});
