import { describe, expect, it } from "vitest";
import { discounted, greeting, tier } from "./pricing";

describe("pricing", () => {
  it("greets by name", () => {
    expect(greeting("Ada")).toBe("Hello, Ada");
  });

  it("takes the discount off", () => {
    expect(discounted(1000, 15)).toBe(850);
  });

  it("ranks customers by visits", () => {
    expect(tier(1)).toBe(1);
    expect(tier(7)).toBe(2);
    expect(tier(25)).toBe(3);
  });
});
