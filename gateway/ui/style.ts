/**
 * The dashboard's stylesheet: system fonts, light and dark schemes, cards for nodes, memory
 * bars, plain tables and two small charts.
 *
 * @module
 */

/** `GET /ui/app.css`. */
export const UI_STYLE: string = `
:root {
  color-scheme: light dark;
  --bg: #f7f7f8; --fg: #1d1d1f; --muted: #6b6b75; --card: #fff; --line: #ddd;
  --ok: #1f8a4c; --bad: #c0392b; --warn: #b7791f; --bar: #3b82f6; --bar-bg: #e5e7eb;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #16171a; --fg: #e8e8ea; --muted: #9a9aa5; --card: #202227; --line: #34363d; --bar-bg: #34363d; }
}
body { margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; align-items: baseline; gap: 1em; padding: .6em 1.2em; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.2em; margin: 0; }
.spacer { flex: 1; }
.muted { color: var(--muted); }
main, #key-form, #notice { padding: 0 1.2em; }
#notice { margin: .8em 0; }
#notice.error { color: var(--bad); }
#key-form { max-width: 36em; margin-top: 2em; }
#key-form input { width: 20em; }
h2 { font-size: 1em; margin: 1.4em 0 .5em; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: .8em; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .6em .8em; min-width: 16em; }
.card h3 { margin: 0 0 .3em; font-size: 1em; display: flex; gap: .5em; align-items: baseline; }
.badge { font-size: .8em; padding: 0 .5em; border-radius: 1em; color: #fff; background: var(--muted); }
.badge.healthy, .badge.loaded { background: var(--ok); }
.badge.unhealthy, .badge.failed { background: var(--bad); }
.badge.draining, .badge.loading, .badge.unloading { background: var(--warn); }
.device { margin: .3em 0; }
.bar { height: .6em; background: var(--bar-bg); border-radius: .3em; overflow: hidden; }
.bar > div { height: 100%; background: var(--bar); }
table { border-collapse: collapse; background: var(--card); border: 1px solid var(--line); }
th, td { text-align: left; padding: .25em .7em; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .5em; }
figcaption { color: var(--muted); font-size: .9em; }
svg { width: 360px; height: 96px; display: block; }
svg polyline { fill: none; stroke: var(--bar); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
svg line { stroke: var(--line); vector-effect: non-scaling-stroke; }
svg circle { fill: var(--bar); }
button { font: inherit; cursor: pointer; }
`;

/** `GET /ui/favicon.svg`: a dot, so that the browser does not ask for the keyed `/favicon.ico`. */
export const UI_ICON: string =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="6" fill="#3b82f6"/></svg>`;
