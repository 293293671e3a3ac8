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

// Tables marked .table-stack show one card per row on phones (static/css/portal.css): each
// cell gets its column's header as data-label, which the card shows before the value.
function stackTableLabels(root) {
  root.querySelectorAll("table.table-stack").forEach(function (table) {
    var head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (!head) {
      return;
    }
    var names = [];
    Array.prototype.forEach.call(head.cells, function (th) {
      var name = (th.getAttribute("data-label") || th.textContent).replace(/\s+/g, " ").trim();
      for (var i = 0; i < th.colSpan; i++) {
        names.push(name);
      }
    });
    table.querySelectorAll(":scope > tbody > tr, :scope > tfoot > tr").forEach(function (tr) {
      var column = 0;
      Array.prototype.forEach.call(tr.cells, function (cell) {
        if (cell.colSpan === 1 && names[column] && !cell.hasAttribute("data-label")) {
          cell.setAttribute("data-label", names[column]);
        }
        column += cell.colSpan;
      });
    });
  });
}

// A table box that scrolls sideways can be reached and scrolled with the keyboard
// (tabindex only while it actually scrolls), named after its card's header.
function focusableScrollBoxes() {
  document.querySelectorAll(".table-responsive").forEach(function (box) {
    var scrolls = box.scrollWidth > box.clientWidth + 1;
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.setAttribute("data-scroll-focus", "");
      var table = box.querySelector("table");
      var header = box.closest(".card") && box.closest(".card").querySelector(".card-header");
      var name = (table && table.getAttribute("aria-label")) || (header && header.textContent.replace(/\s+/g, " ").trim());
      if (name && !box.hasAttribute("aria-label")) {
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", name);
      }
    } else if (!scrolls && box.hasAttribute("data-scroll-focus")) {
      box.removeAttribute("tabindex");
      box.removeAttribute("data-scroll-focus");
    }
  });
}

document.addEventListener("DOMContentLoaded", function () {
  stackTableLabels(document);
  focusableScrollBoxes();
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(focusableScrollBoxes, 150);
  });
});
