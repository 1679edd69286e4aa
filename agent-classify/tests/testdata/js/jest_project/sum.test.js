const { sum, parse } = require("./sum");

describe("sum", () => {
  test("adds two numbers", () => {
    expect(sum(1, 2)).toBe(3);
  });

  test("is commutative", () => {
    expect(sum(2, 5)).toBe(sum(5, 2));
  });
});

describe("parse", () => {
  test("rejects empty input gracefully", () => {
    expect(parse("")).toBeNaN();
  });

  test("parses digits", () => {
    expect(parse("42")).toBe(42);
  });
});
