// splitbrain serve: the little the pages need beyond HTML.
"use strict";

// Copy buttons: <button data-copy="id"> copies the text of element #id.
function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  return Promise.reject(new Error("no clipboard API"));
}

function selectFallback(el) {
  var range = document.createRange();
  range.selectNodeContents(el);
  var sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
  try {
    return document.execCommand("copy");
  } catch (e) {
    return false;
  }
}

document.addEventListener("click", function (e) {
  var btn = e.target.closest("button[data-copy]");
  if (!btn) return;
  var src = document.getElementById(btn.getAttribute("data-copy"));
  if (!src) return;
  var text = src.textContent.trim();
  var done = function (label) {
    btn.textContent = label;
    btn.classList.add("done");
    setTimeout(function () { btn.textContent = "Copy"; btn.classList.remove("done"); }, 2000);
  };
  copyText(text).then(function () { done("Copied"); }, function () {
    done(selectFallback(src) ? "Copied" : "Press Ctrl+C");
  });
});

// Index rows open their run when clicked anywhere but a link.
document.addEventListener("click", function (e) {
  var row = e.target.closest("tr.run");
  if (!row || e.target.closest("a, button, input")) return;
  var a = row.querySelector("td.name a");
  if (a) window.location.href = a.href;
});
