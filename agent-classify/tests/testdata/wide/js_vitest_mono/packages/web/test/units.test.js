import { describe, expect, it } from "vitest";
import { badge, label } from "../src/label.js";

describe("units", () => {
  it("converts whole dollars", () => {
    expect(label(300)).toBe("$3.00");
  });

  it("badges an unnamed item", () => {
    expect(badge({})).toBe("");
  });
});
