/* Starts Swagger UI on the API docs page; the page names the OpenAPI document in data-openapi-url. */
(function () {
  "use strict";

  function start() {
    var node = document.getElementById("swagger-ui");
    window.ui = SwaggerUIBundle({
      url: node.getAttribute("data-openapi-url"),
      dom_id: "#swagger-ui",
      deepLinking: true,
      validatorUrl: null,
      showExtensions: true,
      showCommonExtensions: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
      layout: "BaseLayout"
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
