export function toCents(dollars) {
  return Math.round(dollars * 100);
}

export function parseAmount(text) {
  return Number(text.replace("$", ""));
}
