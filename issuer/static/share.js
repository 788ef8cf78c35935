// The share bar's "Copy link": copies the credential's address. Without JavaScript it stays a plain link to it.
(function () {
  "use strict";

  function fallbackCopy(text) {
    var field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.className = "visually-hidden";
    document.body.appendChild(field);
    field.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    document.body.removeChild(field);
    return copied;
  }

  function announce(bar, message) {
    var status = bar.querySelector(".share-status");
    if (status) { status.textContent = message; }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.share-copy") : null;
    if (!link) { return; }
    event.preventDefault();
    var text = link.getAttribute("data-copy") || link.href;
    var bar = link.closest(".share-bar") || document.body;
    var done = function () { announce(bar, "Link copied: " + text); };
    var failed = function () {
      if (fallbackCopy(text)) { done(); } else { announce(bar, "Copy this link: " + text); }
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, failed);
    } else {
      failed();
    }
  });
}());
