const { price, slowLabel } = require("../src/format");

describe("price", () => {
  test("formats thousands with a comma", () => {
    expect(price(1234.5)).toBe("$1,234.50");
  });

  test("labels slowly", async () => {
    expect(await slowLabel(1)).toBe("$1.00");
  }, 300);
});
