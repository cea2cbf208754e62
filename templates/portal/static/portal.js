// Progressive enhancement for the upload form: drag-and-drop and a progress bar.
// Without this script the form is a plain multipart upload and works the same.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function enhance(form) {
    var input = form.querySelector("input[type=file]");
    var zone = form.querySelector("[data-dropzone]");
    var box = form.querySelector("[data-progress]");
    var bar = box && box.querySelector("progress");
    var text = box && box.querySelector("[data-progress-text]");
    var button = form.querySelector("button[type=submit]");
    var maxBytes = parseInt(form.getAttribute("data-max-bytes") || "0", 10);

    if (zone && input) {
      ["dragenter", "dragover"].forEach(function (name) {
        zone.addEventListener(name, function (event) {
          event.preventDefault();
          zone.classList.add("dragover");
        });
      });
      ["dragleave", "drop"].forEach(function (name) {
        zone.addEventListener(name, function (event) {
          event.preventDefault();
          zone.classList.remove("dragover");
        });
      });
      zone.addEventListener("drop", function (event) {
        if (event.dataTransfer && event.dataTransfer.files.length) {
          input.files = event.dataTransfer.files;
          input.dispatchEvent(new Event("change", { bubbles: true }));
        }
      });
    }

    form.addEventListener("submit", function (event) {
      if (!window.XMLHttpRequest || !window.FormData || !input || !input.files.length) {
        return; // let the browser post the form
      }
      var file = input.files[0];
      if (maxBytes && file.size > maxBytes) {
        return; // the server refuses it with a clear page; no point streaming it first
      }
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      if (box) { box.hidden = false; }
      if (button) { button.disabled = true; }
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && bar) {
          var pct = Math.round((e.loaded / e.total) * 100);
          bar.value = pct;
          bar.textContent = pct + "%";
          if (text) { text.textContent = pct < 100 ? pct + "% sent" : "Checking the file…"; }
        }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status < 400 && xhr.responseURL) {
          window.location.assign(xhr.responseURL);
          return;
        }
        var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var main = page.querySelector("main");
        if (main) {
          document.querySelector("main").replaceWith(main);
          document.title = page.title;
          main.focus();
          var again = main.querySelector("form[data-upload]");
          if (again) { enhance(again); }
        }
      });
      xhr.addEventListener("error", function () {
        if (text) { text.textContent = "The upload failed; check your connection and try again."; }
        if (button) { button.disabled = false; }
      });
      xhr.send(new FormData(form));
    });
  }

  document.querySelectorAll("form[data-upload]").forEach(enhance);
})();
