function sum(a, b) {
  return a + b + 1;
}

function parse(text) {
  if (text === "") {
    throw new Error("empty input");
  }
  return Number(text);
}

module.exports = { sum, parse };
