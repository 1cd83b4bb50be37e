// Filters the failing-records table (search, rule, status), keeps the filter in the URL
// fragment (#rule=DQ101&q=...) so a filtered view can be linked, and marks each plot as drawn
// or not. It reads the page's text and never writes HTML, so record text stays text.
(function () {
  "use strict";
  var q = document.getElementById("q");
  var rule = document.getElementById("rule");
  var status = document.getElementById("status");
  var shown = document.getElementById("shown");
  var none = document.getElementById("none-shown");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#record-table tbody tr.record"));
  var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });

  function hasOption(select, value) {
    return Array.prototype.some.call(select.options, function (o) { return o.value === value; });
  }

  function apply(updateUrl) {
    if (!q) { return; }
    var needle = q.value.trim().toLowerCase();
    var code = rule.value;
    var st = status.value;
    var count = 0;
    rows.forEach(function (row, i) {
      var ok = (!needle || texts[i].indexOf(needle) >= 0) &&
        (!code || row.getAttribute("data-codes").split(" ").indexOf(code) >= 0) &&
        (!st || row.getAttribute("data-status") === st);
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    shown.textContent = count.toLocaleString("en");
    none.hidden = count > 0;
    if (updateUrl) {
      var params = new URLSearchParams();
      if (code) { params.set("rule", code); }
      if (st) { params.set("status", st); }
      if (needle) { params.set("q", q.value.trim()); }
      try { history.replaceState(null, "", "#" + params.toString()); } catch (e) { /* file: URLs may refuse */ }
    }
  }

  function fromFragment(scroll) {
    if (!q) { return; }
    var params = new URLSearchParams(location.hash.slice(1));
    var code = params.get("rule") || "";
    var st = params.get("status") || "";
    rule.value = hasOption(rule, code) ? code : "";
    status.value = hasOption(status, st) ? st : "";
    q.value = params.get("q") || "";
    apply(false);
    if (scroll && (code || st || q.value)) { document.getElementById("records").scrollIntoView(); }
  }

  if (q) {
    q.addEventListener("input", function () { apply(true); });
    rule.addEventListener("change", function () { apply(true); });
    status.addEventListener("change", function () { apply(true); });
    window.addEventListener("hashchange", function () { fromFragment(true); });
    fromFragment(false);
  }

  document.querySelectorAll("figure.plot img").forEach(function (img) {
    function mark() { img.parentNode.setAttribute("data-drawn", img.naturalWidth > 0 ? "yes" : "no"); }
    if (img.complete) { mark(); } else { img.addEventListener("load", mark); img.addEventListener("error", mark); }
  });
}());
