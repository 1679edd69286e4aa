npx tsc --pretty false -p tsconfig.import.json
