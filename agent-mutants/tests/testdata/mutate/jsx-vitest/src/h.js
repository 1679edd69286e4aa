/** A tiny element factory: what JSX compiles to here. */
export function h(tag, props, ...children) {
  return { tag, props: props || {}, children };
}
