// Copy buttons: <button data-copy="ID" hidden> next to <input id="ID" readonly>. Without JavaScript (or a
// clipboard) the button stays hidden and the input is selected on focus by hand; with it, one click copies.
(function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.dataset.copy);
    if (!input) return;
    input.addEventListener("focus", function () { input.select(); });
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(
        function () { button.textContent = "Copied"; },
        function () { input.select(); });
    });
  });
})();
