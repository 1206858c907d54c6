// hrbridge pages: remember the browser's time zone (the server renders dates in it) and ask before
// actions that change data. No other scripts, no external assets.
(function () {
  "use strict";
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  if (zone && /^[A-Za-z0-9_+\-\/]+$/.test(zone) && document.body && document.body.dataset.tz !== zone) {
    document.cookie = "hrb_tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    var key = "hrb_tz_reloaded";
    if (!sessionStorage.getItem(key)) { sessionStorage.setItem(key, "1"); location.reload(); }
  }
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) { event.preventDefault(); window.print(); }
  });
})();
