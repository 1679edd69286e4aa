export function debug(x) {
  console.log(x);
  return x;
}
