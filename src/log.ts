import pino, { Logger } from 'pino';
import pretty from 'pino-pretty';
import { settings } from '../config/settings';

/**
 * The one logger of the process (pino, the logger Fastify ships): the CLI, the runner, the worker,
 * the scheduler, the pack builder and the HTTP server all write through it, to stderr, so stdout
 * keeps only what a command prints as its answer (tables, ids).
 *
 * LOG_LEVEL picks what is written (`silent`, `error`, `warn`, `info`, `debug`); LOG_FORMAT picks
 * how: `json` (one JSON object a line, for a log collector), `pretty` (`12:00:01 INFO [cog] …`), or
 * `auto`, pretty on a terminal and JSON otherwise.
 */
let root: { key: string; logger: Logger } | undefined;

export function logger(): Logger {
  const s = settings();
  const json = s.LOG_FORMAT === 'json' || (s.LOG_FORMAT === 'auto' && !process.stderr.isTTY);
  const key = `${s.LOG_LEVEL}|${json}`;
  if (root?.key === key) return root.logger;
  const options = { level: s.LOG_LEVEL, base: { pid: process.pid } };
  const stream = json
    ? pino.destination({ dest: 2, sync: true })
    : pretty({
        destination: 2,
        sync: true,
        colorize: Boolean(process.stderr.isTTY),
        translateTime: 'SYS:HH:MM:ss',
        ignore: 'pid,hostname,name',
        messageFormat: '{if name}[{name}] {end}{msg}',
      });
  root = { key, logger: pino(options, stream) };
  return root.logger;
}

/**
 * A `(message) => void` writing at `level` under `name` — the shape of `ctx.log` and of the `log`
 * options of the runner, the worker, the scheduler and the pack builder.
 */
export function logTo(name: string, level: 'info' | 'warn' | 'error' | 'debug' = 'info'): (message: string) => void {
  return (message) => logger().child({ name })[level](message);
}
