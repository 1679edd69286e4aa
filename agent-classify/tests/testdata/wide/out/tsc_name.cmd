npx tsc --pretty false -p tsconfig.name.json
