export function label(cents) {
  return `$${(cents / 100).toFixed(2)}`;
}

export function badge(item) {
  return item.name.toUpperCase();
}
