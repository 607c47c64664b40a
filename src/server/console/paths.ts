/**
 * Where the operator console lives. Its pages are under /operator/console/ so that they never
 * collide with the JSON operator API (/operator/runs, /operator/sources, …, bearer token), which
 * keeps its addresses; /operator itself redirects here, and Bull Board is at /operator/queues.
 */
export const CONSOLE = '/operator/console';
export const QUEUES_UI = '/operator/queues';
