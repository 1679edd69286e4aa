function roundCents(x) {
  return Math.floor(x * 100) / 100;
}

function divide(a, b) {
  if (b === 0) {
    throw new RangeError("division by zero");
  }
  return a / b;
}

function parseQty(text) {
  return text.trim().length;
}

module.exports = { roundCents, divide, parseQty };
