npx jest --ci -c jest.projects.config.js --verbose --json --outputFile=/tmp/agent-classify-wide/jest_projects_verbose.json
