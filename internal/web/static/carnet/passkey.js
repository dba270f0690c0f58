// Passkeys (WebAuthn) for the sign-in and security pages: shown only where the browser can use
// them; everything else on those pages works without JavaScript.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
    return;
  }
  document.querySelectorAll(".carnet-passkey").forEach(function (el) { el.hidden = false; });

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? "{}" : JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { throw new Error(j.error || "La clé d’accès n’a pas pu être vérifiée."); }
        return j;
      });
    });
  }

  function fail(button, err) {
    var p = button.parentNode.querySelector("[data-passkey-error]");
    if (p) { p.textContent = err.message || String(err); p.hidden = false; }
  }

  document.querySelectorAll("[data-passkey-login]").forEach(function (b) {
    b.addEventListener("click", function () {
      var url = b.getAttribute("data-passkey-login"), csrf = b.getAttribute("data-csrf");
      post(url + "/options", csrf).then(function (o) {
        return navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(o.publicKey) });
      }).then(function (cred) {
        return post(url, csrf, cred.toJSON());
      }).then(function (j) { window.location.assign(j.next); }).catch(function (e) { fail(b, e); });
    });
  });

  document.querySelectorAll("[data-passkey-register]").forEach(function (b) {
    b.addEventListener("click", function () {
      var url = b.getAttribute("data-passkey-register"), csrf = b.getAttribute("data-csrf");
      post(url + "/options", csrf).then(function (o) {
        return navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(o.publicKey) });
      }).then(function (cred) {
        return post(url, csrf, cred.toJSON());
      }).then(function (j) { window.location.assign(j.next); }).catch(function (e) { fail(b, e); });
    });
  });
}());
