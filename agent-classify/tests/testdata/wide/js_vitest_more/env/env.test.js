import { readFileSync } from "node:fs";
import { expect, it } from "vitest";

it("reads the rates fixture", () => {
  const rates = JSON.parse(readFileSync(new URL("./fixtures/rates.json", import.meta.url), "utf8"));
  expect(rates.usd).toBe(1);
});

it("needs an API key", () => {
  const key = process.env.SHOP_API_KEY;
  if (!key) {
    throw new Error("environment variable SHOP_API_KEY is not set");
  }
  expect(key.length).toBeGreaterThan(0);
});
