"""A Vega-Lite chart above the results of chosen canned queries.

Configured under `plugins: xxgk-charts: <query name>: <Vega-Lite spec without data>` in
metadata.yml.  The page fetches its own results as JSON and draws them with the Vega
libraries that datasette-dashboards ships (served from our origin, no CDN).
"""

from __future__ import annotations

import json

from datasette import hookimpl

VEGA = ["vega.min.js", "vega-lite.min.js", "vega-embed.min.js"]

SCRIPT = """
(function () {
  const charts = %s;
  const libs = %s;
  const match = Array.from(document.body.classList).find(c => c.startsWith("query-") && charts[c.slice(6)]);
  if (!match || !document.querySelector("table.rows-and-columns, .zero-results, form.sql")) return;
  const spec = charts[match.slice(6)];
  const box = document.createElement("div");
  box.id = "xxgk-chart";
  box.style.margin = "1em 0";
  box.setAttribute("aria-label", spec.title || "chart");
  const anchor = document.querySelector(".table-wrapper") || document.querySelector("form.sql");
  anchor.parentNode.insertBefore(box, anchor);
  const load = src => new Promise((ok, fail) => {
    const s = document.createElement("script"); s.src = src; s.onload = ok; s.onerror = fail;
    document.head.appendChild(s);
  });
  const url = new URL(location.href);
  url.pathname += ".json";
  url.searchParams.set("_shape", "array");
  libs.reduce((p, src) => p.then(() => load(src)), Promise.resolve())
    .then(() => fetch(url))
    .then(r => r.json())
    .then(rows => {
      const width = Math.max(320, Math.min(900, (box.parentNode.clientWidth || 800) - 160));
      const full = Object.assign({$schema: "https://vega.github.io/schema/vega-lite/v5.json", width: width,
                                  height: 260}, spec, {data: {values: rows}});
      return vegaEmbed(box, full, {actions: false, renderer: "svg"});
    })
    .then(() => box.setAttribute("data-rendered", "1"))
    .catch(e => { box.textContent = "chart failed: " + e; box.setAttribute("data-error", "1"); });
})();
"""


@hookimpl
def extra_body_script(datasette):
    charts = datasette.plugin_config("xxgk-charts") or {}
    if not charts:
        return ""
    libs = [datasette.urls.static_plugins("datasette_dashboards", name) for name in VEGA]
    # json.dumps output cannot close the <script> element: escape '<'
    return SCRIPT % (json.dumps(charts).replace("<", "\\u003c"), json.dumps(libs))
