import { test } from "node:test";
import assert from "node:assert/strict";
import { bucket, discounted, findIndex, isAdult, label, shipping, total, validCoupon } from "./pricing.js";

test("adults are eighteen or older", () => {
  assert.equal(isAdult(18), true);
  assert.equal(isAdult(17), false);
});

test("discount is capped at 100 percent", () => {
  assert.equal(discounted(1000, 10), 900);
  assert.equal(discounted(1000, 150), 0);
});

test("shipping is free from 5000", () => {
  assert.equal(shipping(5000), 0);
  assert.equal(shipping(4999), 499);
});

test("buckets by count", () => {
  assert.equal(bucket(0), "empty");
  assert.equal(bucket(3), "small");
  assert.equal(bucket(4), "large");
});

test("total multiplies and sums", () => {
  const lines = [{ price: 250, qty: 2 }, { price: 100, qty: 3 }];
  assert.equal(total(lines), 800);
});

test("coupons", () => {
  assert.ok(validCoupon("SAVE1234"));
  assert.ok(!validCoupon("SAVE123"));
  assert.ok(!validCoupon("GIFT1234"));
});

test("labels have two decimals", () => {
  assert.equal(label(1234), "12.34 EUR");
});

// Deliberately weak: only checks that a missing name gives no index, so
// mutants that break finding a present name are MISSED.
test("findIndex weak", () => {
  const missing = findIndex(["a", "b"], "z");
  assert.equal(missing, undefined);
});
