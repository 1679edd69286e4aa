import { expect, it } from "vitest";
import leftPad from "left-pad";

it("pads", () => {
  expect(leftPad("7", 3, "0")).toBe("007");
});
