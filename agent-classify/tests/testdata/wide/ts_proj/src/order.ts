export interface Order {
  id: string;
  lines: { sku: string; qty: number; price: number }[];
}

export function orderTotal(order: Order): number {
  return order.lines.reduce((sum, l) => sum + l.qty * l.price, 0);
}
