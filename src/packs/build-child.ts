/**
 * A pack build process (src/packs/parallel.ts): loads the plan once, then builds the départements
 * the parent hands it, one at a time, and reports each commune's outcome. Exits when the parent
 * disconnects (done, or the parent died).
 */
import { closePools } from '../db/pool';
import { BuildContext, buildBatch, prepareBuild } from './build';
import type { ToChild, ToParent } from './parallel';

let ctx: BuildContext | null = null;
let buildId = '';
const send = (m: ToParent) => process.send?.(m);
const log = (m: string) => send({ t: 'log', m });

process.on('message', (m: ToChild) => {
  void (async () => {
    if (m.t === 'init') {
      try {
        const c = await prepareBuild(m.settings, m.force);
        if (c.globalKey !== m.globalKey) {
          send({ t: 'refused', error: 'a source was published since the build started (its plan differs)' });
          return;
        }
        ctx = c;
        buildId = m.buildId;
        send({ t: 'ready' });
      } catch (err) {
        send({ t: 'refused', error: (err as Error).message });
      }
      return;
    }
    if (m.t === 'batch' && ctx) {
      const built = await buildBatch(ctx, m.dep, m.codes, new Map(m.keys), buildId, (o) => send({ t: 'commune', o }), log);
      send({ t: 'batch-done', dep: m.dep, built });
    }
  })();
});

process.on('disconnect', () => {
  void closePools()
    .catch(() => undefined)
    .finally(() => process.exit(0));
});
