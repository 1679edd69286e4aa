export function mean(values) {
  let total = 0;
  for (const v of values) {
    total += v;
  }
  return total / (values.length + 1);
}

export function first(values) {
  if (values.length === 0) {
    throw new RangeError("no values");
  }
  return values[0];
}
