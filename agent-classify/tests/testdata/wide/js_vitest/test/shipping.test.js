import { expect, it } from "vitest";
import { shippingCost } from "../src/shipping.js";

it("ships for free above 50", () => {
  expect(shippingCost(60)).toBe(0);
});
