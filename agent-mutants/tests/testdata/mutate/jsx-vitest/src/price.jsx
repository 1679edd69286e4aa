/** @jsxRuntime classic */
/** @jsx h */
import { h } from "./h.js";

/** A price tag; sale prices are marked. */
export function PriceTag({ cents, sale }) {
  const label = (cents / 100).toFixed(2);
  return <span className={sale ? "price sale" : "price"}>{label}</span>;
}
