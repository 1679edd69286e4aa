// The same tests as jest.config.js, as one jest project per package (each with a displayName).
module.exports = {
  projects: [
    { displayName: "core", testEnvironment: "node", roots: ["<rootDir>/packages/core"] },
    { displayName: "web", testEnvironment: "node", roots: ["<rootDir>/packages/web"] },
  ],
};
