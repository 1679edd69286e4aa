import { describe, expect, test } from "vitest";
import { first, mean } from "./math.js";

describe("mean", () => {
  test("of three values", () => {
    expect(mean([1, 2, 3])).toBe(2);
  });

  test("of nothing is NaN", () => {
    expect(Number.isNaN(mean([]))).toBe(false);
  });
});

describe("first", () => {
  test("of an empty list", () => {
    expect(first([])).toBeUndefined();
  });

  test("of one value", () => {
    expect(first([7])).toBe(7);
  });
});
