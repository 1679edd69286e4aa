import { describe, expect, it } from "vitest";
import { applyCoupon, fetchRates, total } from "../src/cart.js";

describe("coupons", () => {
  it("takes the coupon off", () => {
    expect(applyCoupon(100, "SAVE10")).toBe(90);
  });

  it("accepts lower-case coupons", () => {
    expect(applyCoupon(100, "save5")).toBe(95);
  });

  describe("totals", () => {
    it("sums two items", () => {
      expect(total([{ price: 2, qty: 1 }, { price: 3, qty: 2 }])).toBe(7);
    });
  });
});

it("fetches rates in time", async () => {
  expect(await fetchRates()).toEqual({ usd: 1 });
}, 300);
