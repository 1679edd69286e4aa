test('fast one', () => {
  expect(1).toBe(1);
});

test('waits for a server that never answers', async () => {
  await new Promise((resolve) => setTimeout(resolve, 10000));
}, 500);
