// Live count: refreshes the figures from the count JSON every few seconds.
// The page is complete without it; this only keeps the number moving.
(function () {
  "use strict";
  var root = document.querySelector("[data-count-url]");
  if (!root || !window.fetch) { return; }
  var url = root.getAttribute("data-count-url");
  var lang = document.documentElement.lang || "ar";
  var format = window.Intl ? new Intl.NumberFormat(lang) : { format: String };
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
        el.textContent = format.format(data.total);
      });
      root.querySelectorAll("[data-live-signers]").forEach(function (el) {
        el.textContent = format.format(data.signers);
      });
      root.querySelectorAll("progress").forEach(function (el) {
        el.value = Math.min(data.total, el.max);
      });
    }).catch(function () { /* offline: keep the last figures */ });
  }
  window.setInterval(refresh, 5000);
})();
