import { format } from "./format.js";

export function greet(name) {
  const unused = 42;
  if (name == null) {
    return format(defaultName);
  }
  return format(name);
}
