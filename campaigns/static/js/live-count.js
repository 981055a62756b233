// Live count: refreshes the figures from the count JSON every few seconds.
// The page is complete without it; this only keeps the number moving.
(function () {
  "use strict";
  var root = document.querySelector("[data-count-url]");
  if (!root || !window.fetch) { return; }
  var url = root.getAttribute("data-count-url");
  // Digits grouped as the server groups them (Babel's symbol and group sizes
  // for the page's language, written into the page): one definition for both.
  var symbol = root.getAttribute("data-number-symbol") || ",";
  var sizes = (root.getAttribute("data-number-sizes") || "3 3").split(" ").map(Number);
  function format(value) {
    var digits = String(Math.round(value));
    var grouped = "";
    var size = sizes[0];
    while (digits.length > size) {
      grouped = symbol + digits.slice(-size) + grouped;
      digits = digits.slice(0, -size);
      size = sizes[1];
    }
    return digits + grouped;
  }
  var etag = null;
  function refresh() {
    if (document.hidden) { return; }
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(url, { headers: headers, credentials: "omit" }).then(function (response) {
      if (response.status !== 200) { return null; }
      etag = response.headers.get("ETag");
      return response.json();
    }).then(function (data) {
      if (!data) { return; }
      root.querySelectorAll("[data-live-count]").forEach(function (el) {
        el.textContent = format(data.total);
      });
      root.querySelectorAll("[data-live-signers]").forEach(function (el) {
        el.textContent = format(data.signers);
      });
      root.querySelectorAll("progress").forEach(function (el) {
        el.value = Math.min(data.total, el.max);
      });
    }).catch(function () { /* offline: keep the last figures */ });
  }
  window.setInterval(refresh, 5000);
})();
