"""The report's inline style and script: constants, so no record text can reach them, and no network is needed.

The pages allow only this script (its hash is in their Content-Security-Policy): were a transcript string ever
written unescaped, a `<script>` or `onerror=` in it would still not run.
"""

from __future__ import annotations

import base64
import hashlib

CSS = """
:root { --ink: #1d232a; --muted: #5d6b78; --line: #d9dee3; --bg: #f6f7f9; --mark-ent: #fff0b3; --mark-fig: #d7ecff; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.6 system-ui, "Hiragino Sans", "Noto Sans CJK JP", "Yu Gothic", "IPAPGothic", sans-serif;
       color: var(--ink); background: var(--bg); }
header, main > section { max-width: 1180px; margin: 0 auto; padding: 6px 20px; }
header { padding-top: 10px; }
header p { margin: 2px 0; }
h1 { font-size: 22px; margin: 4px 0; }
h2 { font-size: 17px; margin: 10px 0 6px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3.section { font-size: 15px; margin: 16px 0 6px; color: var(--muted); }
a { color: #0b5cad; }
.meta { color: var(--muted); margin: 2px 0; }
.bad { color: #a4161a; font-weight: 600; }
.note { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f4; }
td.num { text-align: right; white-space: nowrap; }
.chip { display: inline-block; background: #e8edf2; border-radius: 10px; padding: 0 8px; margin: 1px 2px; }
#player-box.sticky { position: sticky; top: 0; z-index: 2; background: var(--bg); }
#player { width: 100%; height: 40px; display: block; }
#player-box .note { margin: 0; }
.noaudio { background: #fff4e5; border: 1px solid #f3c98b; padding: 6px 10px; margin: 0; }
.timeline { background: #fff; border: 1px solid var(--line); padding: 6px 8px; }
.lane { display: flex; align-items: center; height: 24px; margin: 3px 0; }
.lane-name { width: 150px; flex: none; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-size: 13px; }
.track, .axis { position: relative; flex: 1; height: 100%; background: #f0f2f5; }
.axis { background: none; height: 18px; font-size: 11px; color: var(--muted); }
.axis-row { display: flex; }
.axis-row::before { content: ""; width: 150px; flex: none; }
.tick { position: absolute; top: 0; border-left: 1px solid #b8c0c8; padding-left: 2px; white-space: nowrap; }
.blk { position: absolute; top: 3px; bottom: 3px; min-width: 2px; border-radius: 2px; }
.blk:hover, .blk:focus { outline: 2px solid var(--ink); }
.c0 { --c: #3b7dd8; } .c1 { --c: #e0663a; } .c2 { --c: #2f9e6e; } .c3 { --c: #9b59b6; }
.c4 { --c: #c9a227; } .c5 { --c: #d1497b; } .c6 { --c: #1aa3b3; } .c7 { --c: #7f8c8d; }
.blk { background: var(--c); }
.turn { background: #fff; border-left: 4px solid var(--c, #999); margin: 6px 0; padding: 6px 10px; scroll-margin-top: 90px; }
.turn[data-start] { cursor: pointer; }
.turn.playing { box-shadow: 0 0 0 2px #0b5cad; }
.turn:target { background: #fffbe8; }
.who { font-size: 13px; color: var(--muted); }
.spk { font-weight: 600; color: var(--ink); margin-right: 6px; }
.text { margin: 2px 0 0; white-space: pre-wrap; overflow-wrap: anywhere; }
mark { padding: 0 1px; border-radius: 2px; }
mark.ent { background: var(--mark-ent); border-bottom: 2px solid #d4a400; }
mark.fig { background: var(--mark-fig); border-bottom: 2px solid #2b7bd0; }
mark.ent.fig { background: linear-gradient(var(--mark-ent), var(--mark-fig)); }
mark.alert { background: #ffd9d9; border-bottom: 2px solid #c0392b; }
details.removal { margin: 4px 0; padding: 2px 8px; background: #fbeeee; border: 1px dashed #d99; font-size: 13px; }
details.removal del { color: #8a3b3b; }
.rk { font-weight: 600; color: #8a1c1c; margin-right: 6px; }
.rbody { white-space: pre-wrap; overflow-wrap: anywhere; }
blockquote { margin: 6px 0; padding: 6px 12px; background: #fff; border-left: 4px solid #0b5cad; }
"""

JS = """
// Clicking a turn, its time or a timeline block plays the audio from the turn's start; the turn heard is outlined.
(function () {
  "use strict";
  var player = document.getElementById("player");
  if (!player) return;
  var turns = Array.prototype.slice.call(document.querySelectorAll(".turn[data-start]"));
  var starts = turns.map(function (t) { return parseFloat(t.getAttribute("data-start")); });
  var current = null;
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-start]");
    if (!el) return;
    // Inside a turn, links, folded removals and a text selection keep their own meaning.
    if (el.classList.contains("turn") && (event.target.closest("a, details") || String(window.getSelection()))) return;
    player.currentTime = parseFloat(el.getAttribute("data-start"));
    var playing = player.play();
    if (playing && playing.catch) playing.catch(function () {});  // no audio device: seeking is enough
  });
  player.addEventListener("timeupdate", function () {
    var lo = 0, hi = starts.length - 1, found = -1, t = player.currentTime;
    while (lo <= hi) {  // the last turn starting at or before t (thousands of turns: no scan)
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    var turn = found >= 0 ? turns[found] : null;
    if (turn === current) return;
    if (current) current.classList.remove("playing");
    if (turn) turn.classList.add("playing");
    current = turn;
  });
})();
"""


def _csp_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


# No network: nothing but this script, inline style and the episode's audio (a local file, or the same server).
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; script-src '{_csp_hash(JS)}'; style-src 'unsafe-inline'; media-src 'self' file:; "
    "base-uri 'none'; form-action 'none'"
)
