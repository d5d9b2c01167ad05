// Follows the conversion without reloading the page; the page's own refresh does it without script.
(function () {
  var line = document.getElementById("progress");
  if (!line) { return; }
  var url = line.getAttribute("data-status");
  function poll() {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (s) {
      if (s.state !== "running") { window.location.reload(); return; }
      line.lastChild.textContent = " " + s.step + "…";
      setTimeout(poll, 700);
    }).catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 700);
})();
