import { type Order, orderTotal } from "./order.js";

export function average(order: Order): number {
  return orderTotal(order) / ordr.lines.length;
}
