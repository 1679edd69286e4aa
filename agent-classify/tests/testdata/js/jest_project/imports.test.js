const { product } = require("./product");

test("multiplies", () => {
  expect(product(2, 3)).toBe(6);
});
