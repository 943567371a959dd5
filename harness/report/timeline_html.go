package report

import "html/template"

// timelineTemplate is the whole timeline page. Every value from the
// history reaches it as a string and is escaped by html/template for its
// context; the only numbers in style attributes are pixel offsets.
//
// Pages are <section>s shown by URL fragment: a page is visible when it
// is the :target or contains it (#page-3, #op-1234), else the initial
// page is. That needs no script; the script only adds keyboard paging,
// the jump-to-index box and scrolling to the focus op on load.
var timelineTemplate = template.Must(template.New("timeline").Funcs(template.FuncMap{
	"gutter": func() int { return gutterPx },
	"colw":   func() int { return colPx },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body{font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fff}
header{padding:12px 16px 8px;border-bottom:1px solid #ddd}
h1{font-size:18px;margin:0 0 4px}
p{margin:2px 0}
.muted{color:#666}
.legend span{display:inline-block;margin:2px 10px 2px 0}
.sw{display:inline-block;width:14px;height:12px;vertical-align:-2px;margin-right:4px;border:1px solid rgba(0,0,0,.3);border-radius:2px}
nav.pages{margin-top:6px;max-height:5.2em;overflow:auto}
nav.pages a{display:inline-block;min-width:2.2em;text-align:center;margin:1px;padding:0 3px;border:1px solid #ccc;border-radius:3px;text-decoration:none;color:#225}
nav.pages a.cur{background:#225;color:#fff}
form.jump{display:inline-block;margin-left:12px}
form.jump input{width:8em}
.page{display:none}
.page.initial{display:block}
body:has(.page:target) .page.initial:not(:target),
body:has(.page :target) .page.initial:not(:has(:target)){display:none}
.page:target,.page:has(:target){display:block}
.pagehead{padding:6px 16px;background:#f6f6f6;border-bottom:1px solid #ddd}
.pagehead a{margin:0 6px}
.heads{position:sticky;top:0;z-index:20;background:#fff;height:22px;border-bottom:1px solid #ccc}
.heads div{position:absolute;top:3px;font-weight:600;font-size:12px;white-space:nowrap;overflow:hidden}
.canvas{position:relative;margin-bottom:40px}
.tick{position:absolute;left:0;width:{{gutter}}px;padding-right:6px;box-sizing:border-box;text-align:right;font-size:10px;color:#888;border-top:1px solid #eee}
.col{position:absolute;top:0;bottom:0;width:{{colw}}px;border-left:1px solid #f0f0f0}
.op{position:absolute;left:3px;right:3px;box-sizing:border-box;border:1px solid rgba(0,0,0,.28);border-radius:3px;padding:0 4px;font-size:11px;line-height:16px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;z-index:2}
.op:hover,.fault:hover{z-index:9;box-shadow:0 0 0 2px #333}
.ok{background:#a6e3a1}
.fail{background:#f5a3b8}
.info{background:#ffe27a}
.open{border-style:dashed;border-bottom:none;background-image:linear-gradient(rgba(255,255,255,0),#fff)}
.hl{outline:2px solid #2b50e0;outline-offset:1px;z-index:5}
.focus{outline:3px solid #d00000;outline-offset:1px;box-shadow:0 0 0 7px rgba(208,0,0,.22);z-index:6}
.fault{position:absolute;box-sizing:border-box;border-left:4px solid rgb(var(--rgb));background:rgba(var(--rgb),.22);padding:0 4px;font-size:11px;line-height:16px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;z-index:2}
.fault.instant{background:rgba(var(--rgb),.45);border-left-width:6px}
.fault.mark{background:rgba(var(--rgb),.08);border-left:2px dashed rgb(var(--rgb));color:#666;font-style:italic}
.fault.cont{border-top:2px dotted rgb(var(--rgb))}
.fault.more{border-bottom:2px dotted rgb(var(--rgb))}
.band{position:absolute;right:0;background:rgba(var(--rgb),.10);border-top:1px solid rgba(var(--rgb),.5);border-bottom:1px solid rgba(var(--rgb),.5);pointer-events:none;z-index:1}
{{range .Kinds}}.{{.Class}}{--rgb:{{.R}},{{.G}},{{.B}}}
{{end}}</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
{{range .Summary}}<p class="muted">{{.}}</p>
{{end}}{{with .IndexHref}}<p><a href="{{.}}">← the index of every page</a>{{with $.PrevPart}} · <a href="{{.}}">previous file</a>{{end}}{{with $.NextPart}} · <a href="{{.}}">next file</a>{{end}}</p>
{{end}}{{with .FocusNote}}<p>{{.}} <a href="#{{$.FocusID}}">Go to it.</a></p>
{{end}}<p class="legend"><span><i class="sw ok"></i>ok</span><span><i class="sw fail"></i>fail</span><span><i class="sw info"></i>info (unknown outcome)</span><span><i class="sw info" style="border-style:dashed"></i>never completed</span><span><i class="sw" style="outline:2px solid #2b50e0"></i>highlighted</span><span><i class="sw" style="outline:3px solid #d00000"></i>focus</span>
{{range .Kinds}}<span><i class="sw {{.Class}}" style="background:rgb(var(--rgb))"></i>{{.Name}}{{if .Instant}} (instant){{end}}</span>{{end}}</p>
<p class="muted">One row per event, in history order; hover a box for its details. Pages: ← and → keys, or the links below.
<form class="jump" id="jump">go to history index <input name="i" inputmode="numeric" autocomplete="off"> <button>go</button> <span id="jumpmsg"></span></form></p>
<nav class="pages">{{range .Pages}}<a href="#{{.ID}}" title="{{.Range}}"{{if .Initial}} class="cur"{{end}}>{{.N}}</a>{{end}}</nav>
</header>
<main>
{{range .Pages}}<section class="page{{if .Initial}} initial{{end}}" id="{{.ID}}">
<div class="pagehead"><b>page {{.N}} of {{.Of}}</b> — {{.Range}}{{if .Prev}} <a href="{{.Prev}}">← previous</a>{{end}}{{if .Next}} <a href="{{.Next}}">next →</a>{{end}}</div>
<div class="heads" style="width:{{.Width}}px"><div style="left:0;width:{{gutter}}px;text-align:right;padding-right:10px;box-sizing:border-box">time</div><div style="left:{{.NemLeft}}px;width:{{.NemWidth}}px;padding-left:6px;box-sizing:border-box">nemesis</div>{{range .Cols}}<div style="left:{{.Left}}px;width:{{colw}}px">&nbsp;{{.Name}}</div>{{end}}</div>
<div class="canvas" style="height:{{.Height}}px;width:{{.Width}}px">
{{if .Empty}}<p class="muted" style="padding:8px 16px">This history has no events.</p>
{{end}}{{.TicksHTML}}{{$pl := .ProcLeft}}{{range .Bands}}<div class="{{.Class}}" style="top:{{.Top}}px;height:{{.Height}}px;left:{{$pl}}px"></div>
{{end}}{{range .Faults}}<div class="{{.Class}}"{{with .ID}} id="{{.}}"{{end}}{{with .Done}} data-c="{{.}}"{{end}} style="top:{{.Top}}px;height:{{.Height}}px;left:{{.Left}}px;width:{{.Width}}px" title="{{.Title}}">{{.Label}}</div>
{{end}}{{range .Cols}}<div class="col" style="left:{{.Left}}px">
{{.OpsHTML}}</div>
{{end}}</div>
</section>
{{end}}</main>
<script>
(function () {
  function current() {
    var t = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    var pg = t && t.closest(".page");
    return pg || document.querySelector(".page.initial");
  }
  function mark() {
    var cur = current();
    document.querySelectorAll("nav.pages a").forEach(function (a) {
      a.classList.toggle("cur", cur && a.getAttribute("href") === "#" + cur.id);
    });
  }
  function go(id) {
    location.hash = id;
    var el = document.getElementById(id);
    if (el && !el.classList.contains("page")) el.scrollIntoView({block: "center", inline: "center"});
  }
  window.addEventListener("hashchange", mark);
  document.addEventListener("keydown", function (e) {
    if (e.target.tagName === "INPUT" || e.altKey || e.ctrlKey || e.metaKey) return;
    var cur = current(), to = null;
    if (e.key === "ArrowRight") to = cur && cur.nextElementSibling;
    if (e.key === "ArrowLeft") to = cur && cur.previousElementSibling;
    if (to && to.classList.contains("page")) { go(to.id); window.scrollTo(0, 0); e.preventDefault(); }
  });
  document.getElementById("jump").addEventListener("submit", function (e) {
    e.preventDefault();
    var i = this.elements.i.value.trim(), msg = document.getElementById("jumpmsg");
    var el = /^[0-9]+$/.test(i) && (document.getElementById("op-" + i) || document.getElementById("ev-" + i) ||
      document.querySelector('[data-c="' + i + '"]'));
    msg.textContent = el ? "" : "no op or fault event at index " + i + " on any page";
    if (!el) return;
    if (!el.id) el = el.closest(".page");
    go(el.id);
  });
  mark();
  if (!location.hash) {
    var f = document.querySelector(".page.initial .focus");
    if (f) f.scrollIntoView({block: "center", inline: "center"});
  }
})();
</script>
</body>
</html>
`))
