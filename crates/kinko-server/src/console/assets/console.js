// Kinko console: progressive enhancement only. Every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Policy editors: say at once whether the JSON parses, and refuse to submit one that does not.
  document.querySelectorAll("textarea[data-json]").forEach(function (area) {
    var status = document.getElementById(area.id + "-status");
    function check() {
      try {
        JSON.parse(area.value);
        area.setAttribute("aria-invalid", "false");
        if (status) { status.textContent = "Valid JSON."; }
        return true;
      } catch (e) {
        area.setAttribute("aria-invalid", "true");
        if (status) { status.textContent = "Not valid JSON: " + e.message; }
        return false;
      }
    }
    area.addEventListener("input", check);
    if (area.form) {
      area.form.addEventListener("submit", function (ev) { if (!check()) { ev.preventDefault(); area.focus(); } });
    }
  });
  // Destructive actions ask first.
  document.querySelectorAll("form.danger").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      var label = form.querySelector("button") ? form.querySelector("button").textContent : "this";
      if (!window.confirm(label + "?")) { ev.preventDefault(); }
    });
  });
  var flash = document.getElementById("flash");
  if (flash) { flash.setAttribute("tabindex", "-1"); flash.focus(); }
});
