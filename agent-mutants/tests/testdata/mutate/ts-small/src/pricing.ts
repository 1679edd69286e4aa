// A tiny shop-pricing module: the mutation-testing fixture.

export interface Line {
  price: number;
  qty: number;
}

export function isAdult(age: number): boolean {
  return age >= 18;
}

export function discounted(price: number, percent: number): number {
  if (percent > 100) {
    percent = 100;
  }
  return price - Math.floor((price * percent) / 100);
}

export function shipping(total: number): number {
  if (total >= 5000) {
    return 0;
  }
  return 499;
}

export function bucket(items: number): string {
  switch (items) {
    case 0:
      return "empty";
    case 1:
    case 2:
    case 3:
      return "small";
    default:
      return "large";
  }
}

export const total = (lines: Line[]): number => {
  let sum = 0;
  for (const line of lines) {
    sum += line.price * line.qty;
  }
  return sum;
};

export function validCoupon(code: string): boolean {
  // "SAVE" codes: code.length == 8 && code.startsWith("SAVE")
  return code.length === 8 && code.startsWith("SAVE");
}

export function findIndex(items: string[], name: string): number | undefined {
  for (let i = 0; i < items.length; i++) {
    if (items[i] === name) {
      return i;
    }
  }
  return undefined;
}

export function label(cents: number): string {
  return `${Math.floor(cents / 100)}.` + String(cents % 100).padStart(2, "0") + " EUR";
}
