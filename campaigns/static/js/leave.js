// "Leave quickly" on a sensitive campaign's pages: the page is hidden at once
// and replaced in the history, so that Back does not bring it back. Without
// this the link still leaves, as a plain link.
(function () {
  "use strict";
  document.querySelectorAll("a[data-leave]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      document.body.hidden = true;
      window.location.replace(link.href);
    });
  });
})();
