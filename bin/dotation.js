#!/usr/bin/env node
// Launcher: runs the TypeScript CLI through tsx, so no build step is needed. It calls runCli()
// explicitly: npx starts this file through a link in its own cache, so the CLI cannot tell from
// argv[1] that it is the entry point (test/cli-launcher.test.ts runs it the way a user types it).
if (process.env.npm_command === 'exec') relayStopFromNpx();
require('tsx/cjs');
require('../src/cli.ts').runCli(process.argv.slice(2));

/**
 * Under `npx dotation …` (npm exec), this process is npm's grandchild: npm → `sh -c dotation …` →
 * node. On SIGTERM or SIGINT npm signals the shell and exits; the shell dies without passing the
 * signal on, and the server (or worker, or scheduler) would keep running, orphaned, under a process
 * manager that believes it stopped. So while npm exec is our launcher, we watch it: once the shell
 * or npm is gone, we send ourselves SIGTERM, and the command stops as it does on a SIGTERM of its
 * own (`serve` closes the server, `worker` finishes its jobs). Checked every 200 ms; the timer never
 * keeps a short command alive. Linux reads npm's pid from /proc; elsewhere the shell alone is watched.
 */
function relayStopFromNpx() {
  const fs = require('node:fs');
  /** State and parent of a process, from /proc (null where there is no /proc, or the process is gone). */
  const stat = (pid) => {
    try {
      const line = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces or parentheses.
      const [state, ppid] = line.slice(line.lastIndexOf(')') + 2).split(' ');
      return { state, ppid: Number(ppid) };
    } catch {
      return null;
    }
  };
  const gone = (pid) => {
    try {
      process.kill(pid, 0);
    } catch (err) {
      return err.code !== 'EPERM';
    }
    return stat(pid)?.state === 'Z';
  };
  const shell = process.ppid;
  const npm = stat(shell)?.ppid;
  // A command that handles SIGTERM (serve, worker, scheduler) may already be stopping on a signal of
  // its own (Ctrl-C reaches the whole process group): then it has removed or ignores its handler,
  // and a SIGTERM now must not kill it half-way.
  let handled = false;
  const timer = setInterval(() => {
    const listeners = process.listenerCount('SIGTERM');
    if (process.ppid === shell && !(npm > 1 && gone(npm))) {
      handled ||= listeners > 0;
      return;
    }
    clearInterval(timer);
    if (listeners > 0 || !handled) process.kill(process.pid, 'SIGTERM');
  }, 200);
  timer.unref();
}
