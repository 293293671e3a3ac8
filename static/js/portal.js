// Small behaviours without inline handlers (the Content-Security-Policy allows no inline script):
// <form data-confirm="question"> asks before submitting; <select data-autosubmit> submits its form on change.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.matches && form.matches("form[data-confirm]") && !window.confirm(form.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
}, true);
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
    el.form.submit();
  }
});
