"""The report page: one self-contained HTML file.

No network and no other file: styles and script are inline, pictures are data:
URIs, and a Content-Security-Policy forbids fetching anything else (a report
opened years later, offline, looks the same). The rows travel as JSON in a
``<script type="application/json">`` block with ``<``, ``>`` and ``&`` escaped, and
the page's script draws one page of rows at a time, setting every name, message
and path with ``textContent``: a file named ``<script>alert(1)</script>.jpg`` is
text, never markup. The static parts (summary, histogram) hold numbers and fixed
words only, escaped all the same.
"""
from __future__ import annotations

import html
import json
from typing import Any

from ..measure.bands import SSIMULACRA2_BANDS, VMAF_BANDS, Band
from .data import HISTOGRAM_BINS, Summary

PAGE_ROWS = 100
_BAND_COLOURS: dict[str, str] = {"excellent": "#1a7f37", "good": "#4c9a2a", "visible loss": "#d4a017",
                                 "poor": "#cf222e"}
_METRIC_NAMES = {"ssimulacra2": "SSIMULACRA2 (pictures)", "vmaf": "VMAF (video)"}

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1f2328;background:#fff}
h1{font-size:1.4em;margin:0 0 .5em}h2{font-size:1.1em;margin:1.2em 0 .4em}
table{border-collapse:collapse}td,th{padding:4px 8px;border-bottom:1px solid #d0d7de;vertical-align:top;text-align:left}
.num{text-align:right;font-variant-numeric:tabular-nums}
.summary{display:flex;gap:2.5em;flex-wrap:wrap;align-items:flex-start}
.badge{display:inline-block;padding:0 6px;border-radius:8px;color:#fff;font-size:12px;white-space:nowrap}
.s-failed{background:#cf222e}.s-skipped{background:#6e7781}.s-ok{background:#1a7f37}.s-passed{background:#0969da}
.b-excellent{background:#1a7f37}.b-good{background:#4c9a2a}.b-visible-loss{background:#d4a017}.b-poor{background:#cf222e}
.controls{margin:1em 0;display:flex;gap:1em;flex-wrap:wrap;align-items:center}
.name{font-family:ui-monospace,monospace;word-break:break-all;max-width:28em}
.msg{color:#cf222e;margin-top:2px;word-break:normal;font-family:system-ui,sans-serif}
.skip .msg{color:#57606a}.warn{color:#9a6700;font-size:12px}
.pics img{border:1px solid #d0d7de;margin-right:4px;vertical-align:middle;image-rendering:auto}
.pics .arrow{color:#6e7781;margin-right:4px}.small{font-size:12px;color:#57606a}
#js-errors{color:#cf222e;white-space:pre-wrap}
"""

# The first script of the page: any later script error is written into the page,
# where a test (or a person) sees it without a console.
_ERROR_HOOK = """window.addEventListener('error',function(e){var el=document.getElementById('js-errors');
if(el){el.hidden=false;el.textContent+='script error: '+e.message+'\\n';}});"""

_SCRIPT = r"""
(function(){
'use strict';
var rows=JSON.parse(document.getElementById('rows').textContent);
var PAGE=%(page)d, page=0;
var STATUS=['failed','skipped','ok','passed'], BANDS=['poor','visible loss','good','excellent'];
var $=function(id){return document.getElementById(id);};
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;
  if(text!==undefined&&text!==null)e.textContent=String(text);return e;}
function bytes(n){return Number(n||0).toLocaleString('en-US');}
function size(w,h,d){var t=[];if(w&&h)t.push(w+'x'+h);if(d!==null&&d!==undefined)t.push(Number(d).toFixed(1)+' s');
  return t.join(', ')||'-';}
function img(src,title){var i=el('img');i.src=src;i.alt=title;i.title=title;i.loading='lazy';return i;}
function wave(r){
  var NS='http://www.w3.org/2000/svg',W=160,H=32,svg=document.createElementNS(NS,'svg');
  svg.setAttribute('width',W);svg.setAttribute('height',H);svg.setAttribute('viewBox','0 0 '+W+' '+H);
  var secs=r.waveSeconds||1;
  r.after.forEach(function(p,k){if(p.start===null||p.end===null)return;
    var s=document.createElementNS(NS,'rect');s.setAttribute('x',p.start/secs*W);s.setAttribute('y',0);
    s.setAttribute('width',Math.max(1,(p.end-p.start)/secs*W));s.setAttribute('height',H);
    s.setAttribute('fill',k%%2?'#ddf4ff':'#dafbe1');svg.appendChild(s);});
  var d='';r.wave.forEach(function(v,x){var a=Math.max(0.5,v/100*H/2);
    d+='M'+(x*W/r.wave.length+0.5)+' '+(H/2-a)+'V'+(H/2+a);});
  var path=document.createElementNS(NS,'path');path.setAttribute('d',d);path.setAttribute('stroke','#57606a');
  svg.appendChild(path);
  r.after.forEach(function(p,k){if(k===0||p.start===null)return;
    var c=document.createElementNS(NS,'line');c.setAttribute('x1',p.start/secs*W);c.setAttribute('x2',p.start/secs*W);
    c.setAttribute('y1',0);c.setAttribute('y2',H);c.setAttribute('stroke','#cf222e');svg.appendChild(c);});
  var t=document.createElementNS(NS,'title');t.textContent='waveform of the input; shaded: the parts, red: cut points';
  svg.appendChild(t);return svg;}
function pics(r){var td=el('td','pics');
  if(r.before)td.appendChild(img(r.before,'before'));
  if(r.before&&r.thumb)td.appendChild(el('span','arrow','\u2192'));
  if(r.thumb)td.appendChild(img(r.thumb,r.kind==='video'?'thumb':'after'));
  if(r.strip){td.appendChild(el('br'));td.appendChild(img(r.strip,'frames'));}
  if(r.wave&&r.wave.length)td.appendChild(wave(r));
  return td;}
function line(r){
  var tr=el('tr','row'+(r.status==='skipped'?' skip':''));tr.dataset.status=r.status;
  var st=el('td');st.appendChild(el('span','badge s-'+r.status,r.status));tr.appendChild(st);
  var nm=el('td','name');nm.appendChild(el('div',null,r.name));
  if(r.message)nm.appendChild(el('div','msg',r.message));
  r.warnings.forEach(function(w){nm.appendChild(el('div','warn',w));});
  tr.appendChild(nm);tr.appendChild(el('td',null,r.kind));tr.appendChild(pics(r));
  var b=el('td','num',bytes(r.bytesIn));
  if(r.after.length){b.appendChild(el('br'));b.appendChild(document.createTextNode('\u2192 '+bytes(r.bytesOut)));
    if(r.bytesIn)b.appendChild(el('div','small',(100*r.bytesOut/r.bytesIn).toFixed(1)+'%%'));}
  tr.appendChild(b);
  var sz=el('td','num',size(r.w,r.h,r.dur));
  r.after.forEach(function(p){
    sz.appendChild(el('div',null,'\u2192 '+size(p.w,p.h,p.dur)+(p.part?' (part '+p.part+')':'')));});
  tr.appendChild(sz);
  var dn=el('td');r.done.forEach(function(d){dn.appendChild(el('div',null,d));});
  r.after.forEach(function(p){dn.appendChild(el('div','small',p.path));});tr.appendChild(dn);
  var sc=el('td');if(r.band){sc.appendChild(el('span','badge b-'+r.band.replace(' ','-'),r.band));
    sc.appendChild(el('div','small',r.label));
    if(r.after.length>1)r.after.forEach(function(p){
      if(p.score)sc.appendChild(el('div','small','part '+p.part+': '+p.score));});}
  else sc.textContent='-';
  tr.appendChild(sc);return tr;}
function key(r,k){
  if(k==='attention')return [STATUS.indexOf(r.status),r.band?BANDS.indexOf(r.band):9,r.score===null?1e9:r.score,r.i];
  if(k==='score')return [r.score===null?1e9:r.score,r.i];
  if(k==='saved')return [-(r.bytesIn-r.bytesOut),r.i];
  if(k==='size')return [-r.bytesIn,r.i];
  if(k==='time')return [-r.seconds,r.i];
  return [r.name];}
function cmp(a,b){for(var i=0;i<a.length;i++){if(a[i]<b[i])return -1;if(a[i]>b[i])return 1;}return 0;}
function visible(){
  var st=$('f-status').value,kd=$('f-kind').value,bd=$('f-band').value,q=$('f-text').value.toLowerCase(),
      lo=parseFloat($('f-min').value),hi=parseFloat($('f-max').value),k=$('f-sort').value,rev=$('f-rev').checked;
  var out=rows.filter(function(r){
    if(st&&r.status!==st)return false;if(kd&&r.kind!==kd)return false;
    if(bd==='none'&&r.band)return false;if(bd&&bd!=='none'&&r.band!==bd)return false;
    if(!isNaN(lo)&&!(r.score!==null&&r.score>=lo))return false;
    if(!isNaN(hi)&&!(r.score!==null&&r.score<=hi))return false;
    return !q||r.name.toLowerCase().indexOf(q)>=0||String(r.message).toLowerCase().indexOf(q)>=0;});
  out.sort(function(a,b){return cmp(key(a,k),key(b,k));});if(rev)out.reverse();return out;}
function draw(){var list=visible(),pages=Math.max(1,Math.ceil(list.length/PAGE));
  page=Math.min(page,pages-1);var body=$('body'),frag=document.createDocumentFragment();
  list.slice(page*PAGE,(page+1)*PAGE).forEach(function(r){frag.appendChild(line(r));});
  body.replaceChildren(frag);
  $('pager').textContent=list.length+' of '+rows.length+' files, page '+(page+1)+' of '+pages;
  $('prev').disabled=page===0;$('next').disabled=page>=pages-1;}
['f-status','f-kind','f-band','f-sort','f-rev','f-min','f-max'].forEach(function(id){
  $(id).addEventListener('change',function(){page=0;draw();});});
$('f-text').addEventListener('input',function(){page=0;draw();});
$('prev').addEventListener('click',function(){page--;draw();});
$('next').addEventListener('click',function(){page++;draw();});
draw();
})();
"""


def _json_for_script(data: Any) -> str:
    # Inside <script>, "</script>" or "<!--" in a file name would end the block:
    # no <, > or & survive as themselves (JSON reads the \u escapes back).
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _band_of_bin(metric: str, low: float) -> Band:
    table = SSIMULACRA2_BANDS if metric == "ssimulacra2" else VMAF_BANDS
    mid = low + 5
    for lowest, band in table:
        if mid >= lowest:
            return band
    return "poor"


def histogram_svg(metric: str, counts: tuple[int, ...]) -> str:
    """Bars of 10 points, coloured by the band they fall in."""
    top = max(counts) or 1
    bar, gap, height = 26, 4, 90
    parts = [f'<svg width="{HISTOGRAM_BINS * (bar + gap)}" height="{height + 34}" role="img" '
             f'aria-label="{html.escape(_METRIC_NAMES.get(metric, metric))} histogram">']
    for i, n in enumerate(counts):
        h = round(height * n / top)
        x = i * (bar + gap)
        colour = _BAND_COLOURS[_band_of_bin(metric, i * 10)]
        parts.append(f'<rect x="{x}" y="{height - h}" width="{bar}" height="{h}" fill="{colour}">'
                     f'<title>{i * 10}-{i * 10 + 10}: {n}</title></rect>')
        parts.append(f'<text x="{x + bar / 2}" y="{height + 14}" font-size="10" text-anchor="middle">'
                     f'{i * 10}</text>')
        if n:
            parts.append(f'<text x="{x + bar / 2}" y="{height - h - 2}" font-size="10" '
                         f'text-anchor="middle">{n}</text>')
    parts.append(f'<text x="0" y="{height + 30}" font-size="11">score (below 0 counts in 0-10)</text></svg>')
    return "".join(parts)


def _summary_html(s: Summary) -> str:
    esc = html.escape
    head = "".join(f'<th class="num">{esc(k)}</th>' for k in s.kinds)
    lines = []
    for status, per_kind in s.counts:
        total = sum(n for _, n in per_kind)
        cells = "".join(f'<td class="num">{n}</td>' for _, n in per_kind)
        lines.append(f'<tr><td><span class="badge s-{esc(status)}">{esc(status)}</span></td>{cells}'
                     f'<td class="num">{total}</td></tr>')
    ratio = f" ({s.bytes_out / s.bytes_in:.1%})" if s.bytes_in else ""
    timing = f"{s.work_seconds:,.1f} s of work per file, added up"
    if s.elapsed is not None:
        jobs = f" with {s.jobs} job{'s' if (s.jobs or 1) > 1 else ''}" if s.jobs else ""
        timing = f"{s.elapsed:,.1f} s{jobs}; " + timing
    bands = " ".join(f'<span class="badge b-{esc(b.replace(" ", "-"))}">{esc(b)}: {n}</span>'
                     for b, n in s.bands)
    hist = "".join(f"<div><h2>{esc(_METRIC_NAMES.get(m, m))}</h2>{histogram_svg(m, c)}</div>"
                   for m, c in s.histogram) or "<div><h2>Scores</h2><p>No file was measured (run the batch " \
                                              "with --measure).</p></div>"
    return (f'<div class="summary"><div><h2>Files</h2><table><tr><th></th>{head}<th class="num">total</th>'
            f'</tr>{"".join(lines)}</table>'
            f'<p>bytes: {s.bytes_in:,} &#8594; {s.bytes_out:,}{esc(ratio)}<br>time: {esc(timing)}</p>'
            f'<p>bands: {bands}</p></div>{hist}</div>')


def _options(values: list[tuple[str, str]]) -> str:
    return "".join(f'<option value="{html.escape(v)}">{html.escape(t)}</option>' for v, t in values)


def render(title: str, summary: Summary, rows: list[dict[str, Any]]) -> str:
    esc = html.escape
    kinds = _options([("", "all kinds"), *((k, k) for k in summary.kinds)])
    statuses = _options([("", "all statuses"), *((s, s) for s, _ in summary.counts)])
    bands = _options([("", "all scores"), *((b, b) for b, _ in summary.bands), ("none", "not measured")])
    sorts = _options([("attention", "needs attention first"), ("score", "score, lowest first"),
                      ("name", "name"), ("saved", "bytes saved"), ("size", "input size"),
                      ("time", "time taken")])
    csp = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
           "script-src 'unsafe-inline'")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title><style>{_CSS}</style><script>{_ERROR_HOOK}</script></head>
<body data-files="{summary.files}"><h1>{esc(title)}</h1>
<div id="js-errors" hidden></div>
{_summary_html(summary)}
<h2>Files</h2>
<div class="controls">
<select id="f-status" aria-label="status">{statuses}</select>
<select id="f-kind" aria-label="kind">{kinds}</select>
<select id="f-band" aria-label="band">{bands}</select>
<label>score <input id="f-min" type="number" size="4" placeholder="min"> to
<input id="f-max" type="number" size="4" placeholder="max"></label>
<input id="f-text" type="search" placeholder="name or message contains">
<label>sort <select id="f-sort">{sorts}</select></label>
<label><input id="f-rev" type="checkbox"> reversed</label>
<button id="prev" type="button">&#8592; previous</button><span id="pager"></span>
<button id="next" type="button">next &#8594;</button></div>
<table><thead><tr><th>status</th><th>file</th><th>kind</th><th>before &#8594; after</th>
<th class="num">bytes</th><th class="num">size</th><th>what was done</th><th>score</th></tr></thead>
<tbody id="body"></tbody></table>
<script type="application/json" id="rows">{_json_for_script(rows)}</script>
<script>{_SCRIPT % {"page": PAGE_ROWS}}</script>
</body></html>
"""
