const { sum } = require("./sum");

test("sums values", () => {
  expect(sum([1, 2, 3])).toBe(6);
});
