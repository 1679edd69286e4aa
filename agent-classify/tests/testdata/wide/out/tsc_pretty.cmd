npx tsc -p tsconfig.type.json
