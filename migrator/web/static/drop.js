// Dragging a file onto the upload box puts it in the file field and sends the form (no framework).
(function () {
  var form = document.getElementById("upload-form");
  var input = document.getElementById("file");
  if (!form || !input || !window.DataTransfer) { return; }
  ["dragenter", "dragover"].forEach(function (name) {
    form.addEventListener(name, function (event) { event.preventDefault(); form.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    form.addEventListener(name, function () { form.classList.remove("over"); });
  });
  form.addEventListener("drop", function (event) {
    event.preventDefault();
    var files = event.dataTransfer.files;
    if (files.length === 1) { input.files = files; form.submit(); }
  });
})();
