test('dom', () => { expect(typeof document).toBe('object'); });
