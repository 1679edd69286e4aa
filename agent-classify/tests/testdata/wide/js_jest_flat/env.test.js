const fs = require("fs");
const path = require("path");

test("reads the rates fixture", () => {
  const rates = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "rates.json"), "utf8"));
  expect(rates.usd).toBe(1);
});

test("needs an API key", () => {
  const key = process.env.SHOP_API_KEY;
  if (!key) {
    throw new Error("environment variable SHOP_API_KEY is not set");
  }
  expect(key.length).toBeGreaterThan(0);
});
