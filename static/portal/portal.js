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
  // A contract's amounts: <select data-contract-type> inside [data-contract] shows
  // only the [data-contract-amount] boxes whose data-types name the chosen type.
  function showContractAmounts(select) {
    var scope = select.closest("[data-contract]");
    if (!scope) { return; }
    var type = select.value;
    scope.querySelectorAll("[data-contract-amount]").forEach(function (box) {
      var types = (box.getAttribute("data-types") || "").split(" ");
      box.hidden = !type || types.indexOf(type) === -1;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-contract-type]")) {
      showContractAmounts(event.target);
    }
  });
  document.querySelectorAll("select[data-contract-type]").forEach(showContractAmounts);
  // <button data-print>: print the page (an invoice).
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) {
      window.print();
    }
  });
  // Services: open the locked feature's <dialog id="feature-dialog"> once htmx has
  // loaded the feature into it.
  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = document.getElementById("feature-dialog");
    if (dialog && event.detail.target === dialog && !dialog.open) {
      dialog.showModal();
    }
  });
  // The dialog could not be loaded (e.g. upsell was switched off meanwhile): follow the link.
  document.addEventListener("htmx:responseError", function (event) {
    var link = event.detail.elt;
    if (link && link.classList && link.classList.contains("upsell-tag")) {
      window.location.href = link.href;
    }
  });
  // The organization's menu (includes/_org_nav.html): open on wide screens (one row;
  // CSS hides the "Menu" button there), closed behind "Menu" on phones. A group's
  // list closes on Escape (focus back on its name) and on a click elsewhere.
  document.documentElement.classList.add("nav-js");
  var navMenu = document.querySelector("[data-nav-menu]");
  if (navMenu && window.matchMedia) {
    var wide = window.matchMedia("(min-width: 769px)");
    var fitMenu = function () { navMenu.open = wide.matches; };
    fitMenu();
    if (wide.addEventListener) { wide.addEventListener("change", fitMenu); }
  }
  function closeNavGroups(except) {
    document.querySelectorAll("details[data-nav-group][open]").forEach(function (group) {
      if (group !== except) { group.open = false; }
    });
  }
  document.addEventListener("click", function (event) {
    closeNavGroups(event.target.closest ? event.target.closest("details[data-nav-group]") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var group = event.target.closest && event.target.closest("details[data-nav-group][open]");
    if (group) {
      group.open = false;
      group.querySelector("summary").focus();
    }
  });
  // The tenant's accent colour, from <meta name="accent-color">.
  var accent = document.querySelector('meta[name="accent-color"]');
  if (accent) {
    document.documentElement.style.setProperty("--pp-accent", accent.content);
    document.documentElement.style.setProperty("--pico-primary", accent.content);
  }
})();
