import { format } from "date-fns";
import { type Order } from "./order.js";

export function stamp(order: Order): string {
  return `${order.id} at ${format(new Date(), "yyyy-MM-dd")}`;
}
