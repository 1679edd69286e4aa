export function total(items) {
  return items.reduce((sum, item) => sum + item.price * item.qty, 0);
}

export function applyCoupon(amount, coupon) {
  if (!coupon.startsWith("SAVE")) {
    throw new Error(`unknown coupon ${coupon}`);
  }
  return amount - Number(coupon.slice(4));
}

export function fetchRates() {
  return new Promise((resolve) => setTimeout(() => resolve({ usd: 1 }), 2000));
}
