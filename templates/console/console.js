// Copy buttons: <button data-copy="ID"> copies the value of the field ID and says so.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  button.addEventListener("click", function () {
    var field = document.getElementById(button.dataset.copy);
    var status = document.getElementById(button.dataset.copy + "-status");
    function done(ok) {
      if (status) status.textContent = ok ? "Copied" : "Select the link and copy it";
    }
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { done(true); },
        function () { done(document.execCommand("copy")); });
    } else {
      done(document.execCommand("copy"));
    }
  });
});
