npx tsc --pretty false -p tsconfig.badjson.json
