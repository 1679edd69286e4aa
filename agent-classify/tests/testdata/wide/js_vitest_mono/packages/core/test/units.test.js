import { describe, expect, it } from "vitest";
import { parseAmount, toCents } from "../src/units.js";

describe("units", () => {
  it("converts whole dollars", () => {
    expect(toCents(3)).toBe(300);
  });

  it("parses an amount with thousands", () => {
    expect(parseAmount("$1,200")).toBe(1200);
  });
});
