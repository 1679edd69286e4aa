const { price } = require("../src/format");

describe("price", () => {
  test("formats dollars", () => {
    expect(price(3)).toBe("$3.00");
  });
});
