describe('server', () => {
  test('answers within the limit', async () => {
    await new Promise((resolve) => setTimeout(resolve, 10000));
  }, 300);
});
