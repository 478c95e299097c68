// Sortable tables and the charts of a tokenstat report (no network, no eval).
(function () {
  "use strict";

  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    var raw = cell.getAttribute("data-sort");
    if (raw === null) return cell.textContent.trim().toLowerCase();
    if (raw === "") return null;
    var num = Number(raw);
    return isNaN(num) ? raw.toLowerCase() : num;
  }

  function sortTable(table, index, th) {
    var body = table.tBodies[0];
    if (!body) return;
    var descending = th.getAttribute("aria-sort") !== "descending";
    Array.prototype.forEach.call(th.parentNode.children, function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      if (x === y) return 0;
      if (x === null) return 1;   // empty cells last either way
      if (y === null) return -1;
      var order = x < y ? -1 : 1;
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function makeSortable(root) {
    var tables = (root || document).querySelectorAll("table.data");
    Array.prototype.forEach.call(tables, function (table) {
      var head = table.tHead;
      if (!head || head.getAttribute("data-ready")) return;
      head.setAttribute("data-ready", "1");
      Array.prototype.forEach.call(head.rows[0].cells, function (th, index) {
        th.setAttribute("data-sortable", "1");
        th.setAttribute("tabindex", "0");
        th.addEventListener("click", function () { sortTable(table, index, th); });
        th.addEventListener("keydown", function (e) {
          if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortTable(table, index, th); }
        });
      });
    });
  }

  function drawCharts() {
    var source = document.getElementById("chart-specs");
    if (!source || typeof vegaEmbed === "undefined") return;
    var specs = JSON.parse(source.textContent);
    var nodes = document.querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(nodes, function (node) {
      var spec = specs[node.getAttribute("data-chart")];
      if (!spec) return;
      vegaEmbed(node, spec, { actions: false, ast: true, renderer: "svg" }).catch(function (err) {
        node.textContent = "Chart could not be drawn: " + err;
      });
    });
  }

  window.tokenstatTables = { makeSortable: makeSortable };
  document.addEventListener("DOMContentLoaded", function () {
    makeSortable(document);
    drawCharts();
  });
})();
