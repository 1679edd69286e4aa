const leftPad = require("left-pad");

test("pads", () => {
  expect(leftPad("7", 3, "0")).toBe("007");
});
