// The customer list (portal.workbench): "choose every customer on this page" as a
// header checkbox. Without JavaScript the form's "Every customer on this page"
// box does the same on the server.
(function () {
  "use strict";
  var all = document.querySelector("input[data-select-all]");
  if (!all) { return; }
  var form = all.closest("form");
  var boxes = form.querySelectorAll('input[type="checkbox"][name="customers"]');
  all.hidden = false;
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
  form.addEventListener("change", function (event) {
    if (event.target.name !== "customers") { return; }
    var checked = Array.prototype.filter.call(boxes, function (box) { return box.checked; });
    all.checked = checked.length === boxes.length;
    all.indeterminate = checked.length > 0 && checked.length < boxes.length;
  });
})();
