// Monban: passkey (WebAuthn) ceremonies for the buttons with data-action
// "passkey-register" and "passkey-signin". Each button names two JSON endpoints:
// data-options (POST → the options for navigator.credentials) and data-finish (POST the
// authenticator's answer → {"redirect": url} or {"error": message}). The server keeps
// the ceremony's state; this script only converts between JSON and the browser's
// binary types. Served as /static/passkey.js under the page's CSP (script-src 'self').
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return; // the sections stay hidden: the page's other forms work without WebAuthn
  }

  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(pk) {
    pk.challenge = b64urlToBuf(pk.challenge);
    pk.user.id = b64urlToBuf(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return pk;
  }

  function requestOptions(pk) {
    pk.challenge = b64urlToBuf(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return pk;
  }

  function registration(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: bufToB64url(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        attestationObject: bufToB64url(r.attestationObject),
        clientDataJSON: bufToB64url(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : undefined
      }
    };
  }

  function assertion(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: bufToB64url(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        authenticatorData: bufToB64url(r.authenticatorData),
        clientDataJSON: bufToB64url(r.clientDataJSON),
        signature: bufToB64url(r.signature),
        userHandle: r.userHandle ? bufToB64url(r.userHandle) : null
      }
    };
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        return { ok: res.ok, json: json };
      });
    });
  }

  function showError(section, message) {
    var slot = section.querySelector("#passkey-error");
    if (slot) {
      slot.textContent = message;
      slot.hidden = false;
    }
  }

  // Follows the server's answer: a redirect (done, or a page to visit first), or an
  // error to show. Returns true when the page is being left.
  function follow(section, button, answer) {
    if (answer.json && answer.json.redirect) {
      window.location.assign(answer.json.redirect);
      return true;
    }
    showError(section, (answer.json && answer.json.message) || button.dataset.failed);
    return false;
  }

  var conditional = null; // the AbortController of a pending autofill request

  function signIn(button, section, mediation) {
    var body = { csrf_token: button.dataset.csrf, conditional: mediation === "conditional" };
    if (button.dataset.returnTo) body.return_to = button.dataset.returnTo;
    return post(button.dataset.options, body).then(function (answer) {
      if (!answer.ok || !answer.json.publicKey) {
        follow(section, button, answer);
        return;
      }
      var opts = { publicKey: requestOptions(answer.json.publicKey) };
      if (mediation === "conditional") {
        conditional = new AbortController();
        opts.mediation = "conditional";
        opts.signal = conditional.signal;
      }
      return navigator.credentials.get(opts).then(function (cred) {
        return post(button.dataset.finish, {
          csrf_token: button.dataset.csrf,
          credential: assertion(cred)
        }).then(function (done) { follow(section, button, done); });
      });
    }).catch(function (e) {
      // An autofill request the user did not take up (none offered, dismissed,
      // replaced by the button's) is not an error to show.
      if (mediation === "conditional" || (e && e.name === "AbortError")) return;
      showError(section, button.dataset.failed);
    });
  }

  function register(button, section) {
    var nameField = section.querySelector("input[name=name]");
    var body = { csrf_token: button.dataset.csrf };
    return post(button.dataset.options, body).then(function (answer) {
      if (!answer.ok || !answer.json.publicKey) {
        follow(section, button, answer);
        return;
      }
      var opts = { publicKey: creationOptions(answer.json.publicKey) };
      return navigator.credentials.create(opts).then(function (cred) {
        var finish = {
          csrf_token: button.dataset.csrf,
          name: nameField ? nameField.value : "",
          credential: registration(cred)
        };
        if (button.dataset.returnTo) finish.return_to = button.dataset.returnTo;
        return post(button.dataset.finish, finish).then(function (done) {
          follow(section, button, done);
        });
      });
    }).catch(function () {
      showError(section, button.dataset.failed);
    });
  }

  document.querySelectorAll("[data-passkey-section]").forEach(function (section) {
    section.hidden = false;
    var reg = section.querySelector('[data-action="passkey-register"]');
    if (reg) {
      reg.addEventListener("click", function () { register(reg, section); });
    }
    var sign = section.querySelector('[data-action="passkey-signin"]');
    if (sign) {
      sign.addEventListener("click", function () {
        if (conditional) {
          conditional.abort();
          conditional = null;
        }
        signIn(sign, section, "required");
      });
      if (sign.dataset.conditional && PublicKeyCredential.isConditionalMediationAvailable) {
        PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
          if (yes) signIn(sign, section, "conditional");
        });
      }
    }
  });
})();
