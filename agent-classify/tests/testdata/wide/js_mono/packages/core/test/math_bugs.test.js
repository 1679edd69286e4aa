const { roundCents, divide, parseQty } = require("../src/math");

describe("roundCents", () => {
  describe("half cents", () => {
    test("rounds half up", () => {
      expect(roundCents(1.255)).toBe(1.26);
    });
  });
});

describe("divide", () => {
  test("by zero gives Infinity", () => {
    expect(divide(1, 0)).toBe(Infinity);
  });
});

test("parses a missing quantity", () => {
  expect(parseQty(undefined)).toBe(0);
});
