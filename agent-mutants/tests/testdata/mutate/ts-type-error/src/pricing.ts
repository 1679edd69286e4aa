/** Greets a customer by name. */
export function greeting(name: string): string {
  return "Hello, " + name;
}

/** The price less `percent` of it, rounded down to whole cents. */
export function discounted(price: number, percent: number): number {
  return price - Math.floor((price * percent) / 100);
}

/** A loyalty tier: 1 (new), 2 (regular) or 3 (gold). */
export type Tier = 1 | 2 | 3;

/** The loyalty tier earned by a number of visits. */
export function tier(visits: number): Tier {
  if (visits >= 20) {
    return 3;
  }
  return visits >= 5 ? 2 : 1;
}
