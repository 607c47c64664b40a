/**
 * Declared URLs may name recent days: `{today}` and `{today-N}` stand for the day in
 * Europe/Paris (YYYY-MM-DD), N days before. A service that answers a whole history unless
 * filtered (Atmo France's WFS) is then asked only for the days a run needs, with a URL that
 * stays a plain declaration.
 */
const parisDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The URL with its `{today[-N]}` tokens replaced by days of Paris (now by default). */
export function datedUrl(url: string, now: Date = new Date()): string {
  return url.replace(/\{today(?:-(\d{1,3}))?\}/g, (_, n: string | undefined) =>
    parisDay.format(new Date(now.getTime() - Number(n ?? 0) * 86400000)),
  );
}
