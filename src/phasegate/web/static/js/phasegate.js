/* Draws every Plotly figure on the page from its data-figure JSON, also after HTMX swaps. */
(function () {
  "use strict";
  var config = { displaylogo: false, responsive: true, displayModeBar: false };

  function draw(root) {
    if (typeof Plotly === "undefined") return;
    var nodes = (root || document).querySelectorAll("[data-figure]:not([data-drawn])");
    nodes.forEach(function (node) {
      var figure = JSON.parse(node.getAttribute("data-figure"));
      node.setAttribute("data-drawn", "1");
      Plotly.newPlot(node, figure.data, figure.layout, config);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
})();
