import { helper } from "./missing";

export function total(values: number[]): number {
  let sum = 0;
  for (const v of values) {
    sum += v;
  }
  return sum + undefinedOffset;
}

export function label(n: number): string {
  const count: number = "three";
  return `${n} of ${count} ${helper()}`;
}
