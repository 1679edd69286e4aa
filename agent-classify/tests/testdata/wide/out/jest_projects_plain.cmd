npx jest --ci -c jest.projects.config.js --json --outputFile=/tmp/agent-classify-wide/jest_projects_plain.json
