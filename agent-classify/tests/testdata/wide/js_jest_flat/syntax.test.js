const { sum } = require("./sum");

test("sums nothing", () => {
  expect(sum([])).toBe(0;
});
