function discounted(price, percent) {
  if (percent > 100) {
    throw new RangeError('discount over 100%');
  }
  return price - Math.floor((price * percent) / 100);
}

function isFree(price) {
  return price === 0;
}

module.exports = { discounted, isFree };
