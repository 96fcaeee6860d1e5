/**
 * The dashboard's HTML: a fixed skeleton with empty tables that `script.ts` fills in from
 * `GET /ui/state`. No data is ever written into this markup.
 *
 * @module
 */

/** `GET /ui`. */
export const UI_PAGE: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cortex dashboard</title>
<link rel="icon" href="/ui/favicon.svg">
<link rel="stylesheet" href="/ui/app.css">
<script src="/ui/app.js" defer></script>
</head>
<body>
<header>
  <h1>cortex</h1>
  <span id="updated" class="muted"></span>
  <span class="spacer"></span>
  <span id="who" class="muted"></span>
  <button id="forget" type="button" hidden>Forget key</button>
</header>
<p id="notice" role="status" hidden></p>
<form id="key-form" hidden>
  <p id="key-why"></p>
  <label>API key <input id="key-input" type="password" autocomplete="off" required></label>
  <button type="submit">Use key</button>
  <p class="muted">Kept in this tab only (sessionStorage) and sent as <code>Authorization: Bearer</code>.</p>
</form>
<main id="dash" hidden>
  <section>
    <h2>Nodes</h2>
    <div id="nodes" class="cards"></div>
  </section>
  <section>
    <h2>Models</h2>
    <table id="models">
      <thead><tr></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section>
    <h2>Last minutes</h2>
    <div class="charts">
      <figure><figcaption id="tok-caption">Output tokens/s</figcaption><svg id="chart-tok" viewBox="0 0 300 80" preserveAspectRatio="none"></svg></figure>
      <figure><figcaption id="ttft-caption">Mean time to first token (ms)</figcaption><svg id="chart-ttft" viewBox="0 0 300 80" preserveAspectRatio="none"></svg></figure>
    </div>
  </section>
  <section>
    <h2>Recent requests</h2>
    <table id="recent">
      <thead><tr><th>Time</th><th>Model</th><th>Node</th><th>Dialect</th><th>Status</th><th>TTFT</th><th>tok/s</th><th>Tokens in/out</th><th>Duration</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
</body>
</html>
`;
