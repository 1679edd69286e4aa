const { discounted } = require('@shop/pricing');

function total(items, percent) {
  let sum = 0;
  for (const item of items) {
    sum += item.price * item.qty;
  }
  return discounted(sum, percent);
}

module.exports = { total };
