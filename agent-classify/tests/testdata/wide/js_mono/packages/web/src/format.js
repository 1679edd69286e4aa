const { roundCents } = require("@shop/core");

function price(x) {
  return "$" + roundCents(x).toFixed(2);
}

function slowLabel(x) {
  return new Promise((resolve) => setTimeout(() => resolve(price(x)), 2000));
}

module.exports = { price, slowLabel };
