// The kiosk: one person after another on the collector's device. Without
// this script the form posts one person at a time. With it, each entry is
// sealed (AES-GCM, a key the page hands over and the device keeps in memory
// only) into a queue in localStorage, the form is emptied at once, and the
// queue is sent in batches whenever the connection allows. Each entry has a
// random key: the server stores it once however often it is sent.
(function () {
  "use strict";
  var form = document.querySelector("form[data-kiosk]");
  var status = document.getElementById("kiosk-status");
  var subtle = window.crypto && window.crypto.subtle;
  if (!form || !status || !subtle || !window.localStorage || !window.fetch || !crypto.randomUUID) {
    return;
  }
  var rawKey = form.getAttribute("data-queue-key");
  if (!rawKey) { return; }
  // Nothing of the key stays in the page.
  form.removeAttribute("data-queue-key");
  var store = "zaytoun-kiosk-" + form.getAttribute("data-kiosk");
  var endpoint = form.getAttribute("data-entries");
  var token = form.querySelector("input[name=csrf_token]");
  var csrf = token ? token.value : "";
  var BATCH = 25;
  var sending = false;
  var key = subtle.importKey(
    "raw", bytes(rawKey), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]
  );
  rawKey = null;

  function bytes(b64) {
    return Uint8Array.from(atob(b64), function (c) { return c.charCodeAt(0); });
  }
  function base64(buffer) {
    return btoa(String.fromCharCode.apply(null, new Uint8Array(buffer)));
  }
  function load() {
    try { return JSON.parse(localStorage.getItem(store) || "[]"); } catch (e) { return []; }
  }
  function save(queue) {
    if (queue.length) { localStorage.setItem(store, JSON.stringify(queue)); }
    else { localStorage.removeItem(store); }
  }
  // A sealed entry: its key in clear (random, says nothing), its fields not.
  function seal(entry) {
    var iv = crypto.getRandomValues(new Uint8Array(12));
    var plain = new TextEncoder().encode(JSON.stringify(entry.fields));
    return key.then(function (k) {
      return subtle.encrypt({ name: "AES-GCM", iv: iv, additionalData: new TextEncoder().encode(entry.key) }, k, plain);
    }).then(function (sealed) {
      return { k: entry.key, iv: base64(iv), data: base64(sealed) };
    });
  }
  function open(box) {
    return key.then(function (k) {
      return subtle.decrypt(
        { name: "AES-GCM", iv: bytes(box.iv), additionalData: new TextEncoder().encode(box.k) },
        k, bytes(box.data)
      );
    }).then(function (plain) {
      return { key: box.k, fields: JSON.parse(new TextDecoder().decode(plain)) };
    });
  }
  function say(kind, text) {
    status.textContent = text;
    status.className = "notice notice-" + (kind === "failed" ? "failed" : "done");
    status.setAttribute("role", kind === "failed" ? "alert" : "status");
    status.hidden = false;
  }
  function waiting() {
    var n = load().length;
    if (n) { say("done", status.getAttribute("data-waiting").replace("__N__", String(n))); }
    return n;
  }
  // Empty the form and everything the browser could give back of it.
  function clear() {
    form.reset();
    form.querySelectorAll("input, select, textarea").forEach(function (input) {
      if (input.type === "hidden") { return; }
      if (input.type === "checkbox") { input.checked = false; input.defaultChecked = false; }
      else { input.value = ""; }
      input.removeAttribute("value");
      input.removeAttribute("aria-invalid");
    });
    // The last answer's messages (errors, "the kiosk is open") go too.
    document.querySelectorAll(".error-summary, .field .error, main > .notice:not(#kiosk-status)")
      .forEach(function (node) { node.remove(); });
    form.querySelectorAll(".has-error").forEach(function (node) { node.classList.remove("has-error"); });
    history.replaceState(null, "", location.pathname);
    var first = form.querySelector("input:not([type=hidden])");
    if (first) { first.focus(); }
  }

  function send() {
    var queue = load();
    if (sending || !queue.length) { return; }
    sending = true;
    Promise.all(queue.slice(0, BATCH).map(open)).then(function (entries) {
      return fetch(endpoint, {
        method: "POST",
        credentials: "same-origin",
        redirect: "manual",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ entries: entries })
      });
    }).then(function (response) {
      // Sent to the login page (the session ended) or refused for its token:
      // the queue stays on the device until the page is opened again.
      var type = response.headers.get("Content-Type") || "";
      if (response.type === "opaqueredirect" || type.indexOf("application/json") !== 0) {
        return null;
      }
      return response.json().then(function (answer) { return [response.status, answer]; });
    }).then(function (result) {
      sending = false;
      if (!result) { say("failed", status.getAttribute("data-expired")); return; }
      var code = result[0], answer = result[1];
      if (code === 409) { say("failed", status.getAttribute("data-closed")); return; }
      if (code !== 200) { say("failed", answer.error || ""); return; }
      var done = {};
      (answer.accepted || []).forEach(function (k) { done[k] = true; });
      var reasons = [];
      Object.keys(answer.refused || {}).forEach(function (k) {
        done[k] = true;
        reasons = reasons.concat(answer.refused[k]);
      });
      save(load().filter(function (box) { return !done[box.k]; }));
      if (reasons.length) {
        say("failed", status.getAttribute("data-refused").replace("__R__", reasons.join(" ")));
      } else if (!waiting()) {
        say("done", status.getAttribute("data-sent"));
      }
      if (load().length) { send(); }
    }).catch(function () {
      // No connection (or no answer): the queue stays, sealed, for later.
      sending = false;
      waiting();
    });
  }

  form.setAttribute("novalidate", "");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!form.reportValidity()) { return; }
    var fields = {};
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token" && name !== "entry_key") { fields[name] = value; }
    });
    var entry = { key: crypto.randomUUID(), fields: fields };
    fields = null;
    clear();
    seal(entry).then(function (box) {
      entry = null;
      var queue = load();
      queue.push(box);
      save(queue);
      say("done", status.getAttribute("data-saved"));
      send();
    });
  });
  window.addEventListener("online", send);
  setInterval(send, 5000);
  waiting();
  send();
})();
