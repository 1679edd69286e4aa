export function double(n: number): number {
  const result = n * 2
  return result;
}

export function broken(values: number[] {
  return values.length;
}
