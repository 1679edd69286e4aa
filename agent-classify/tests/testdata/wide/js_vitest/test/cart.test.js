import { describe, expect, it } from "vitest";
import { total } from "../src/cart.js";

describe("total", () => {
  it("sums one item", () => {
    expect(total([{ price: 2, qty: 3 }])).toBe(6);
  });

  it("is zero for no items", () => {
    expect(total([])).toBe(0);
  });

  it.skip("rounds to cents", () => {
    expect(total([{ price: 0.1, qty: 3 }])).toBe(0.3);
  });
});
