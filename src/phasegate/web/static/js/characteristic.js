/* The characteristic page: a click on a point of the control chart opens its subgroup's units. */
(function () {
  "use strict";

  function wire(node, tries) {
    if (typeof node.on !== "function") {
      if (tries > 0) window.setTimeout(function () { wire(node, tries - 1); }, 100);
      return;
    }
    node.on("plotly_click", function (event) {
      var point = event && event.points && event.points[0];
      if (!point || point.customdata === undefined) return;
      window.location.assign(node.getAttribute("data-drill") + point.customdata + "#subgroup");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-drill]").forEach(function (node) { wire(node, 50); });
  });
})();
