npx tsc --pretty false -p tsconfig.broken.json
