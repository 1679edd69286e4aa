node --test esm.test.mjs
