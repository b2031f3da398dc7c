/* The what-if form: a refusal (400, with each field's error) is swapped in like an answer. */
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    var config = event.detail.requestConfig;
    var form = config && config.elt;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-what-if-form")) return;
    var xhr = event.detail.xhr;
    if (xhr.status < 400) return;
    event.detail.shouldSwap = true;
    event.detail.isError = false;
    // The form's own problems come as the form again; anything else (the token out of date,
    // the build gone) as the site's error page, of which the card.
    if (xhr.responseText.indexOf("data-what-if") < 0) {
      event.detail.selectOverride = ".error-page";
    }
  });
})();
