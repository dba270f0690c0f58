// Applies the colour scheme before the first paint, so that a dark-theme user sees no flash of
// the light theme: the DSFR's snippet, as a file because the Content-Security-Policy forbids
// inline scripts. Without JavaScript the page keeps the DSFR's light theme.
(function () {
  "use strict";
  var root = document.documentElement;
  if (!root.hasAttribute("data-fr-scheme")) {
    return;
  }
  var stored = null;
  try {
    stored = window.localStorage.getItem("scheme");
  } catch (e) {
    stored = null;
  }
  var scheme = stored || root.getAttribute("data-fr-scheme");
  var dark = scheme === "dark" ||
    (scheme === "system" && window.matchMedia("(prefers-color-scheme: dark)").matches);
  if (dark) {
    root.setAttribute("data-fr-theme", "dark");
    root.style.colorScheme = "dark";
  }
})();
