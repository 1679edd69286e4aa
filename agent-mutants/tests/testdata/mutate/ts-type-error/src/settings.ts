// Left over from a migration: `timeout` was never added to the type, so
// tsc reports TS2339 here. vitest strips types without checking them, so
// the tests pass; the error predates every mutant.
const settings = { retries: 3 };
settings.timeout = 30;

export default settings;
