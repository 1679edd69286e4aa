export default [
  {
    files: ["**/*.js"],
    rules: { eqeqeq: "eror" },
  },
];
