/**
 * flask-restplus `X-Fields` masks: `id,properties{name,code}`; `*` keeps every key of a level.
 * Applied to an object or to every item of an array (and of a FeatureCollection's features).
 */
export type Mask = Map<string, Mask | true>;

export function parseMask(s: string): Mask | undefined {
  let i = 0;
  let src = s.replace(/\s+/g, '');
  if (src.startsWith('{') && src.endsWith('}')) src = src.slice(1, -1);
  const level = (): Mask => {
    const m: Mask = new Map();
    while (i < src.length) {
      let name = '';
      while (i < src.length && !',{}'.includes(src[i])) name += src[i++];
      if (src[i] === '{') {
        i++;
        const sub = level();
        if (name) m.set(name, sub);
      } else if (name) m.set(name, true);
      if (src[i] === ',') {
        i++;
        continue;
      }
      if (src[i] === '}') {
        i++;
        return m;
      }
    }
    return m;
  };
  const m = level();
  return m.size ? m : undefined;
}

export function applyMask(value: unknown, mask: Mask): unknown {
  if (Array.isArray(value)) return value.map((v) => applyMask(v, mask));
  if (!value || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if (obj.type === 'FeatureCollection' && Array.isArray(obj.features) && !mask.has('features')) {
    return { ...obj, features: obj.features.map((f) => applyMask(f, mask)) };
  }
  if (mask.has('*')) return obj;
  const out: Record<string, unknown> = {};
  for (const [k, sub] of mask) if (k in obj) out[k] = sub === true ? obj[k] : applyMask(obj[k], sub);
  return out;
}
