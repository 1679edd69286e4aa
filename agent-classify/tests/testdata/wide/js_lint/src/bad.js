import { clamp } from "./good.js";

export function score(points, bonus) {
  let total = points + 1;
  const unusedLimit = 100;
  if (bonus == null) {
    return clamp(total, 0, 10);
  }
  console.log("bonus", bonus);
  return total;
}
