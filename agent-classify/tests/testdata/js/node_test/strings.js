export function shout(text) {
  return text.toUpperCase() + "!!";
}

export function initials(name) {
  return name.split(" ").map((part) => part[0]).join("");
}
