#pragma once
// The status page's inline style sheet and script (status_html.cpp): the page
// is one self-contained file, with no external assets.
#include <string_view>

namespace peoplesync::status {

inline constexpr std::string_view kStyle = R"css(
:root{color-scheme:light dark;--fg:#1d232b;--bg:#f6f7f9;--card:#fff;--muted:#667085;--line:#e3e6ea;
--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--bar:#3b82f6}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--bg:#111418;--card:#1a1f25;--muted:#98a2b3;--line:#2c333b}}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}header{padding:16px 24px;background:var(--card);border-bottom:1px solid var(--line);
display:flex;flex-wrap:wrap;gap:8px 24px;align-items:baseline}h1{font-size:20px;margin:0}h2{font-size:16px;margin:0 0 8px}
main{padding:16px 24px;display:grid;gap:16px}section{background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:12px 16px;overflow-x:auto}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 10px 4px 0;
border-bottom:1px solid var(--line);vertical-align:top;white-space:nowrap}th{color:var(--muted);font-weight:600;font-size:12px;
text-transform:uppercase;letter-spacing:.03em}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.wrap{white-space:normal;min-width:20em}.muted{color:var(--muted)}.ok{color:var(--ok)}.warn{color:var(--warn)}
.bad{color:var(--bad);font-weight:600}.badge{border-radius:999px;padding:2px 10px;font-weight:600;font-size:12px;color:#fff}
.badge.ok{background:var(--ok)}.badge.bad{background:var(--bad)}code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
.bar{display:inline-block;width:80px;height:8px;background:var(--line);border-radius:4px;vertical-align:middle;margin-left:6px}
.bar span{display:block;height:8px;border-radius:4px;background:var(--bar)}footer{padding:0 24px 24px;color:var(--muted)}
)css";

// Updates lock countdowns every second and says when the page reloads; the
// meta refresh does the reloading, so the page also works without scripts.
inline constexpr std::string_view kScript = R"js(
(function(){
  var t0=Date.now(),refresh=Number(document.body.getAttribute("data-refresh"))||0;
  function span(s){if(s<=0)return "0s";var m=Math.floor(s/60),r=s%60;return (m?m+"m ":"")+r+"s";}
  function tick(){
    var gone=(Date.now()-t0)/1000;
    document.querySelectorAll("[data-countdown]").forEach(function(e){
      var left=Math.ceil(Number(e.getAttribute("data-countdown"))-gone);
      e.textContent=left>0?span(left):"lifting";
    });
    var r=document.getElementById("refresh-in");
    if(r&&refresh>0)r.textContent=span(Math.max(0,Math.ceil(refresh-gone)));
  }
  tick();setInterval(tick,1000);document.body.setAttribute("data-live","1");
})();
)js";

}  // namespace peoplesync::status
