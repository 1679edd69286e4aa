export function format(text) {
  return `Hello, ${text}`;
}
