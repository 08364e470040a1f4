// Staff console: small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // <form data-confirm="..."> asks before submitting (resolve, deactivate, rollback ...).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    // Avoid double posts from impatient double clicks.
    var buttons = form.querySelectorAll("button[type=submit], button:not([type])");
    window.setTimeout(function () {
      buttons.forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  // The top menu is a <details>: folded behind "메뉴" on phones, always open on wider screens.
  var narrow = window.matchMedia("(max-width: 720px)");
  function syncMenu() {
    document.querySelectorAll("details.menu").forEach(function (menu) { menu.open = !narrow.matches; });
  }
  syncMenu();
  if (narrow.addEventListener) narrow.addEventListener("change", syncMenu);

  // A page restored from the back/forward cache gets its buttons back.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("button[disabled]").forEach(function (b) { b.disabled = false; });
  });

  // <select data-canned-target="reply-body">: inserts the chosen canned response into the reply box.
  document.addEventListener("change", function (event) {
    var select = event.target;
    var targetId = select.getAttribute && select.getAttribute("data-canned-target");
    if (!targetId) return;
    var option = select.options[select.selectedIndex];
    var text = option ? option.getAttribute("data-body") : null;
    var box = document.getElementById(targetId);
    if (text && box) {
      var start = box.selectionStart || 0;
      var end = box.selectionEnd || 0;
      if (box.value && start === 0 && end === 0) start = end = box.value.length;
      var before = box.value.slice(0, start);
      var joiner = before && !/\n$/.test(before) ? "\n" : "";
      box.value = before + joiner + text + box.value.slice(end);
      box.focus();
    }
    select.selectedIndex = 0;
  });

  // <a data-history-back> on an error page goes back in the history when that is the page the link names: the
  // browser then shows the form again with what was typed (the link itself would load it empty).
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-history-back]");
    if (!link || window.history.length < 2 || !document.referrer) return;
    var from;
    try { from = new URL(document.referrer); } catch (e) { return; }
    var to = new URL(link.href, window.location.href);
    if (from.origin === to.origin && from.pathname + from.search === to.pathname + to.search) {
      event.preventDefault();
      window.history.back();
    }
  });

  // Elements with data-autosubmit submit their form on change (queue filters on phones).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
  });
})();
