/* The import page: files dropped on the drop zone go into the form's file input, the chosen
   files are listed, the form goes by HTMX with the upload's progress shown, and an answer that
   refuses the upload (a 4xx page) is shown in place of the result. Without this script the
   form posts as a plain multipart form. */
(function () {
  "use strict";

  function sizeText(bytes) {
    var units = ["B", "KiB", "MiB", "GiB"];
    var value = bytes;
    var step = 0;
    while (value >= 1024 && step < units.length - 1) {
      value /= 1024;
      step += 1;
    }
    return value.toFixed(step === 0 || value >= 100 ? 0 : 1) + " " + units[step];
  }

  function init() {
    var form = document.querySelector("form[data-import]");
    if (!form) return;
    var zone = form.querySelector("[data-dropzone]");
    var input = form.querySelector("input[type=file]");
    var list = form.querySelector("[data-file-list]");
    var progress = form.querySelector("[data-progress]");

    function listFiles() {
      list.textContent = "";
      Array.prototype.forEach.call(input.files, function (file) {
        var item = document.createElement("li");
        item.textContent = file.name + " · " + sizeText(file.size);
        list.appendChild(item);
      });
      zone.classList.toggle("has-files", input.files.length > 0);
    }

    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("over");
      });
    });
    ["dragleave", "dragend", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      var files = event.dataTransfer && event.dataTransfer.files;
      if (files && files.length) {
        input.files = files;
        listFiles();
      }
    });
    input.addEventListener("change", listFiles);

    form.addEventListener("htmx:beforeRequest", function () { progress.value = 0; });
    form.addEventListener("htmx:xhr:progress", function (event) {
      if (event.detail.lengthComputable && event.detail.total > 0) {
        progress.value = Math.round((100 * event.detail.loaded) / event.detail.total);
      }
    });
    // HTMX fires this on the target the answer goes to, not on the form that asked.
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      var xhr = event.detail.xhr;
      var config = event.detail.requestConfig;
      if (!config || config.elt !== form || xhr.status < 400) return;
      // A refusal is an answer to show: the form's own problems come as its outcome, anything
      // else (too large, the token out of date) as the site's error page, of which the card.
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      if (xhr.responseText.indexOf("data-outcome") < 0) {
        event.detail.selectOverride = ".error-page";
      }
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
