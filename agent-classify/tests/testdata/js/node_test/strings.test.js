import { test } from "node:test";
import assert from "node:assert/strict";
import { initials, shout } from "./strings.js";

test("shout adds one bang", () => {
  assert.equal(shout("hi"), "HI!");
});

test("initials of a single name", () => {
  assert.equal(initials("Ada"), "A");
});

test("initials of nothing", () => {
  assert.equal(initials(undefined), "");
});
