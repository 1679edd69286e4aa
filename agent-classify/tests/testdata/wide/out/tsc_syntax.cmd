npx tsc --pretty false -p tsconfig.syntax.json
