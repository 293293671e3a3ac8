// Progress of a background job (okeportal.jobs): an element with data-progress-url is polled
// every second; [data-progress-bar] and [data-progress-message] inside it follow the JSON
// ({progress, message, done}); the page reloads when the job has finished.
(function () {
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var bar = box.querySelector("[data-progress-bar]");
  var message = box.querySelector("[data-progress-message]");
  async function poll() {
    try {
      var response = await fetch(box.dataset.progressUrl, {headers: {"Accept": "application/json"}});
      if (response.ok) {
        var data = await response.json();
        if (bar) {
          bar.style.width = data.progress + "%";
          // the page's own percent style: "45 %" (non-breaking space) in Polish, "45%" in English (okeportal.formatting.pct)
          bar.textContent = data.progress + (document.documentElement.lang === "en" ? "%" : "\u00a0%");
          bar.parentElement.setAttribute("aria-valuenow", data.progress);
        }
        if (message) { message.textContent = data.message; }
        if (data.done) { window.location.reload(); return; }
      }
    } catch (e) { /* network hiccup: try again */ }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
