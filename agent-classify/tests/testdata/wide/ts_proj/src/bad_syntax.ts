import { type Order } from "./order.js";

export function firstSku(order: Order): string {
  return order.lines[0].sku;
