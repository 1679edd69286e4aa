import { orderTotal, type Order } from "./order.js";

export function label(order: Order): string {
  const total: string = orderTotal(order);
  return `${order.id}: ${total}`;
}

export const sample: Order = { id: 7, lines: [] };
