export function broken() {
  return [1, 2, 3.map((n) => n * 2);
}
