npx tsc --pretty false -p tsconfig.type.json
