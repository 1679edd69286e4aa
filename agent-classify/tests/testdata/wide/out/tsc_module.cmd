npx tsc --pretty false -p tsconfig.module.json
