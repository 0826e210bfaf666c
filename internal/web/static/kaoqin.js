// kaoqin dashboard: the little the pages need beyond HTML, served from the binary (CSP: scripts
// from this origin only, nothing inline). Without it every page still works.
(function () {
  "use strict";

  // A page with data-refresh="N" on <body> refreshes its <main> every N seconds in place: the
  // page is fetched again and its <main> swapped in, so the scroll position, the open folds and
  // the filter stay as they are.
  function refresh(seconds) {
    setInterval(function () {
      if (document.hidden) { return; }
      fetch(location.href, { credentials: "same-origin", headers: { "X-Requested-With": "kaoqin-refresh" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var next = doc.querySelector("main"), cur = document.querySelector("main");
          if (!next || !cur) { return; }
          var open = {};
          cur.querySelectorAll("section.window details[open]").forEach(function (d) {
            open[d.closest("section").id] = true;
          });
          cur.replaceWith(next);
          next.querySelectorAll("section.window").forEach(function (s) {
            var d = s.querySelector("details");
            if (d && open[s.id]) { d.open = true; }
          });
          wire(next);
          document.body.dispatchEvent(new CustomEvent("kaoqin:refreshed"));
        })
        .catch(function () {
          var p = document.getElementById("asof");
          if (p && !p.classList.contains("error")) { p.classList.add("error"); p.textContent += "（自动更新失败，稍后重试）"; }
        });
    }, seconds * 1000);
  }

  // The filter form submits itself when a select or the date changes.
  function wire(root) {
    var f = root.querySelector("form.filter");
    if (!f) { return; }
    f.querySelectorAll("select, input[type=date]").forEach(function (el) {
      el.addEventListener("change", function () { f.requestSubmit ? f.requestSubmit() : f.submit(); });
    });
  }

  // The staff search of the entry and admin forms: typing a name or id offers the matching staff
  // (a <datalist> the page carries), and the chosen one is named beside the field.
  function staffLookup(root) {
    root.querySelectorAll("input[data-staff-list]").forEach(function (inp) {
      var list = document.getElementById(inp.getAttribute("data-staff-list"));
      var out = document.getElementById(inp.id + "-who");
      if (!list || !out) { return; }
      function show() {
        var v = inp.value.trim(), who = "";
        list.querySelectorAll("option").forEach(function (o) { if (o.value === v) { who = o.textContent; } });
        out.textContent = who;
      }
      inp.addEventListener("input", show);
      show();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var s = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
    if (s > 0) { refresh(s); }
    wire(document);
    staffLookup(document);
  });
})();
