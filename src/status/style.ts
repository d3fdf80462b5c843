/** The page's CSS, inline so the report file stands alone. Narrow screens get one card per target, not a table. */
export const STYLE = `
:root{color-scheme:light;--ok:#1a7f37;--late:#9a6700;--failed:#cf222e;--muted:#57606a;--line:#d0d7de}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:16px;color:#1f2328;background:#f6f8fa}
main{max-width:1200px;margin:0 auto}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
a{color:#0969da}
.muted{color:var(--muted)}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:6px}
th,td{text-align:left;padding:8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}
.chip{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}
.chip.ok{background:var(--ok)}.chip.late{background:var(--late)}.chip.failed{background:var(--failed)}
.sparkline{color:#0969da;display:block}.sparkline circle{fill:currentColor}
.warn{color:var(--failed)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
footer{margin-top:16px;font-size:12px;color:var(--muted)}
@media (max-width:700px){
  table,thead,tbody,tr,th,td{display:block}thead{display:none}
  tr{border-bottom:1px solid var(--line);padding:8px 0}td{border:0;padding:4px 8px}
  td[data-label]::before{content:attr(data-label);display:block;font-size:11px;color:var(--muted)}
}`;
