import { applyTax } from "./tax.js";
import { type Order, orderTotal } from "./order.js";

export function taxed(order: Order): number {
  return applyTax(orderTotal(order));
}
