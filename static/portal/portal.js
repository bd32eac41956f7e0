// Small behaviours without inline scripts (CSP-friendly).
(function () {
  "use strict";
  // <form data-confirm="…">: ask before a destructive action.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
  // <input data-select-on-focus>: select a shown-once secret for copying.
  document.addEventListener("focusin", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-select-on-focus")) {
      event.target.select();
    }
  });
  // The tenant's accent colour, from <meta name="accent-color">.
  var accent = document.querySelector('meta[name="accent-color"]');
  if (accent) {
    document.documentElement.style.setProperty("--pp-accent", accent.content);
    document.documentElement.style.setProperty("--pico-primary", accent.content);
  }
})();
