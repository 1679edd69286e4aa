node --test pad.test.js
