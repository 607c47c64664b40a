import { SingleBar, Presets } from 'cli-progress';

/** Progress of one long step (download or load), in bytes or rows. */
export interface Progress {
  start(label: string, total: number | undefined, unit: 'bytes' | 'rows'): void;
  update(done: number): void;
  stop(): void;
}

export const silentProgress: Progress = { start() {}, update() {}, stop() {} };

function human(n: number, unit: 'bytes' | 'rows'): string {
  if (unit === 'rows') return n.toLocaleString('en-US');
  const u = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

/** A terminal progress bar on a TTY, a line every 5 s elsewhere (logs of CI, systemd, docker). */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  let bar: SingleBar | undefined;
  let label = '';
  let unit: 'bytes' | 'rows' = 'bytes';
  let total: number | undefined;
  let lastLog = 0;
  return {
    start(l, t, u) {
      label = l;
      unit = u;
      total = t;
      if (stream.isTTY) {
        bar = new SingleBar(
          {
            stream,
            hideCursor: true,
            clearOnComplete: false,
            format: `${l.padEnd(28)} [{bar}] {percentage}% {value_h}/{total_h}`,
          },
          Presets.shades_classic,
        );
        bar.start(t ?? 0, 0, { value_h: human(0, u), total_h: t ? human(t, u) : '?' });
      } else {
        stream.write(`${l}: started${t ? ` (${human(t, u)})` : ''}\n`);
      }
    },
    update(done) {
      if (bar) {
        bar.update(Math.min(done, total ?? done), { value_h: human(done, unit), total_h: total ? human(total, unit) : '?' });
      } else if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        stream.write(`${label}: ${human(done, unit)}${total ? ` / ${human(total, unit)} (${Math.round((100 * done) / total)}%)` : ''}\n`);
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
