import { expect, it } from "vitest";
import { PriceTag } from "./price.jsx";

it("shows the price in units with two decimals", () => {
  expect(PriceTag({ cents: 1250, sale: false }).children).toEqual(["12.50"]);
});

it("marks sale prices", () => {
  expect(PriceTag({ cents: 100, sale: true }).props.className).toBe("price sale");
  expect(PriceTag({ cents: 100, sale: false }).props.className).toBe("price");
});
