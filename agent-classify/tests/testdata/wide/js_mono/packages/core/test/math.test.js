const { roundCents, divide } = require("../src/math");

describe("roundCents", () => {
  test("keeps whole cents", () => {
    expect(roundCents(1.25)).toBe(1.25);
  });

  describe("with fractions", () => {
    test("drops a tenth of a cent", () => {
      expect(roundCents(1.251)).toBe(1.25);
    });
  });
});

describe("divide", () => {
  test("divides", () => {
    expect(divide(6, 3)).toBe(2);
  });

  test.skip("divides by a fraction", () => {
    expect(divide(1, 0.5)).toBe(2);
  });
});
