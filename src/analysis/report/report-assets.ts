// The report page's inline stylesheet and script: sortable tables and, when served, live reload.

export const REPORT_CSS = `
body { font: 14px/1.45 system-ui, 'DejaVu Sans', sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
header { background: #fff; border-bottom: 1px solid #ddd; padding: 12px 24px; }
header h1 { font-size: 20px; margin: 0 0 4px; } header p { margin: 0 0 6px; color: #444; }
nav a { color: #0b57d0; text-decoration: none; } #live { float: right; font-size: 12px; color: #0a7d32; }
main { padding: 8px 24px 48px; max-width: 1600px; }
section { margin-top: 24px; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; }
figure.plot { background: #fff; border: 1px solid #e3e3e3; padding: 8px; margin: 16px 0; overflow-x: auto; }
figure.plot svg { max-width: 100%; height: auto; } figcaption { color: #555; font-size: 13px; }
.scroll { overflow-x: auto; max-height: 560px; overflow-y: auto; }
table { border-collapse: collapse; background: #fff; font-size: 13px; }
th, td { border: 1px solid #e0e0e0; padding: 3px 8px; white-space: nowrap; }
th { background: #f1f3f4; cursor: pointer; position: sticky; top: 0; user-select: none; }
th[aria-sort=ascending]::after { content: ' ▲'; } th[aria-sort=descending]::after { content: ' ▼'; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } td.na { color: #aaa; text-align: center; }
.caption, .hint { color: #555; font-size: 12px; } .warn { background: #fff8e1; border: 1px solid #f0d070; padding: 6px 12px; }
.error { background: #fdecea; border: 1px solid #e57373; padding: 8px 24px; }
.ok { color: #0a7d32; font-weight: 600; } .bad { color: #b3261e; font-weight: 600; }
.thumbs { display: flex; flex-wrap: wrap; gap: 12px; } figure.sample { margin: 0; width: 170px; background: #fff; border: 1px solid #e3e3e3; padding: 5px; }
figure.sample img { width: 160px; height: 160px; object-fit: contain; display: block; background: #fff; }
dl.prov { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; } dl.prov dt { font-weight: 600; } dl.prov dd { margin: 0; }
`;

export const REPORT_SCRIPT = `
(function () {
  function cellKey(row, i) {
    var c = row.cells[i];
    if (!c) return '';
    if (c.dataset.v !== undefined) return parseFloat(c.dataset.v);
    return c.textContent || '';
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (th, i) {
      th.addEventListener('click', function () {
        var dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
        table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellKey(a, i), y = cellKey(b, i), c;
          if (typeof x === 'number' && typeof y === 'number') c = x - y;
          else if (typeof x === 'number') c = -1;
          else if (typeof y === 'number') c = 1;
          else c = String(x).localeCompare(String(y));
          return dir === 'ascending' ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  var live = document.getElementById('live');
  if (live && live.dataset.version !== undefined) {
    var version = live.dataset.version;
    setInterval(function () {
      fetch('/version', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (j) {
        if (String(j.version) !== version) location.reload();
        else live.textContent = 'live · checked ' + new Date().toLocaleTimeString();
      }).catch(function () { live.textContent = 'live · server unreachable'; });
    }, 1000);
  }
})();
`;
