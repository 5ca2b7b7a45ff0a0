"use strict";
// tsharkpost report: sort and filter tables, copy commands, open collapsed connections for printing.
// Everything reads without it; it reads only the page itself and never touches the network. The controls it works
// (filter boxes, copy buttons, sortable headings) are shown only once it runs: without it they would do nothing.
document.documentElement.classList.add("scripted");
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th[data-sort]").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var up = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th[aria-sort]").forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      var numeric = th.dataset.sort === "number", body = table.tBodies[0];
      var key = function (row) {
        var cell = row.cells[column], text = cell.dataset.value || cell.textContent.trim();
        return numeric ? parseFloat(text) || 0 : text.toLowerCase();
      };
      Array.from(body.rows).sort(function (a, b) {
        var x = key(a), y = key(b);
        return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1);
      }).forEach(function (row) { body.appendChild(row); });
    });
  });
});
document.querySelectorAll("input[data-filter]").forEach(function (input) {
  var table = document.getElementById(input.dataset.filter);
  input.addEventListener("input", function () {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    Array.from(table.tBodies[0].rows).forEach(function (row) {
      var text = row.textContent.toLowerCase();
      row.hidden = !words.every(function (word) { return text.indexOf(word) >= 0; });
    });
  });
});
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("button.copy") : null;
  if (!button) return;
  var code = button.parentNode.querySelector("code"), text = code.textContent;
  var done = function () { button.textContent = "copied"; };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(text).then(done, function () { window.getSelection().selectAllChildren(code); });
  } else {
    window.getSelection().selectAllChildren(code);
  }
});
window.addEventListener("beforeprint", function () {
  document.querySelectorAll("details.conn-details").forEach(function (details) { details.open = true; });
});
