#!/usr/bin/env node
// Launcher: runs the TypeScript CLI through tsx, so no build step is needed. It calls runCli()
// explicitly: npx starts this file through a link in its own cache, so the CLI cannot tell from
// argv[1] that it is the entry point (test/cli-launcher.test.ts runs it the way a user types it).
require('tsx/cjs');
require('../src/cli.ts').runCli(process.argv.slice(2));
