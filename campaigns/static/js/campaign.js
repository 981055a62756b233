// The campaign page's small helpers. The page is complete without them.
(function () {
  "use strict";
  // The error summary is focused by its autofocus attribute; this covers a
  // browser that skipped it (the person had already moved the focus).
  var summary = document.querySelector(".error-summary");
  if (summary && document.activeElement === document.body) { summary.focus(); }

  // An empty box starts in the page's direction; typed text takes its own.
  var page = document.documentElement.dir || "ltr";
  document.querySelectorAll("form input[dir]:not([dir=ltr])").forEach(function (input) {
    function follow() { input.dir = input.value ? "auto" : page; }
    follow();
    input.addEventListener("input", follow);
  });

  // Copy the campaign's link: the field stays selectable without this.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () { button.textContent = button.getAttribute("data-copied"); };
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          if (document.execCommand("copy")) { done(); }
        });
      } else if (document.execCommand("copy")) {
        done();
      }
    });
  });
})();
