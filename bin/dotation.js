#!/usr/bin/env node
// Thin launcher: runs the TypeScript CLI through tsx so no build step is needed.
require('tsx/cjs');
require('../src/cli.ts');
