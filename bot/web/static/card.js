/* paybot's card page: the card goes from this browser straight to Mangopay's tokenization server, never to paybot.
 *
 * On submit: the card fields are checked here (a help only), then POSTed (application/x-www-form-urlencoded:
 * accessKeyRef, data, cardNumber, cardExpirationDate MMYY, cardCvx) to the registration's CardRegistrationURL,
 * used in full as Mangopay asks. Its answer ("data=..." or "errorCode=...") goes into the form with what 3-D Secure
 * needs of the browser (language, screen, colour depth, time zone offset), and the form is posted to paybot. The
 * card inputs have no name attribute and are emptied first: the form cannot carry them.
 */
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form) { return; }
  var problem = document.getElementById("card-problem");
  var button = form.querySelector("button[type=submit]");
  var fields = {
    number: document.getElementById("card-number"),
    expiry: document.getElementById("card-expiry"),
    cvc: document.getElementById("card-cvc")
  };

  function luhn(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = Number(digits.charAt(digits.length - 1 - i));
      if (i % 2 === 1) { d = d * 2; if (d > 9) { d -= 9; } }
      sum += d;
    }
    return sum % 10 === 0;
  }

  function read() {
    var number = fields.number.value.replace(/[\s-]/g, "");
    var expiry = fields.expiry.value.replace(/\s/g, "");
    var match = /^(0[1-9]|1[0-2])\/?([0-9]{2}|20[0-9]{2})$/.exec(expiry);
    var cvc = fields.cvc.value.replace(/\s/g, "");
    var errors = {};
    if (!/^[0-9]{12,19}$/.test(number) || !luhn(number)) { errors.number = form.dataset.number; }
    if (!match) { errors.expiry = form.dataset.expiry; }
    if (!/^[0-9]{3,4}$/.test(cvc)) { errors.cvc = form.dataset.cvc; }
    return {number: number, expiry: match ? match[1] + match[2].slice(-2) : "", cvc: cvc, errors: errors};
  }

  function show(errors) {
    var first = null;
    Object.keys(fields).forEach(function (name) {
      var message = document.getElementById(fields[name].id + "-error");
      if (errors[name]) {
        message.textContent = errors[name];
        message.hidden = false;
        fields[name].setAttribute("aria-invalid", "true");
        first = first || fields[name];
      } else {
        message.hidden = true;
        fields[name].removeAttribute("aria-invalid");
      }
    });
    if (first) { first.focus(); }
    return first === null;
  }

  function say(text) {
    problem.textContent = text;
    problem.hidden = false;
    problem.focus();
    button.disabled = false;
  }

  function browser() {
    form.elements.browser_language.value = navigator.language || "";
    form.elements.browser_color_depth.value = String(screen.colorDepth || 24);
    form.elements.browser_screen_height.value = String(screen.height);
    form.elements.browser_screen_width.value = String(screen.width);
    form.elements.browser_time_zone_offset.value = String(new Date().getTimezoneOffset());
    form.elements.browser_java.value = "false";  // no browser has run Java applets for years
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    problem.hidden = true;
    var card = read();
    if (!show(card.errors)) { return; }
    button.disabled = true;
    problem.textContent = "";
    var body = new URLSearchParams();
    body.set("accessKeyRef", form.dataset.accessKey);
    body.set("data", form.dataset.preregistration);
    body.set("cardNumber", card.number);
    body.set("cardExpirationDate", card.expiry);
    body.set("cardCvx", card.cvc);
    fetch(form.dataset.tokenizer, {method: "POST", body: body, mode: "cors", credentials: "omit",
                                   referrerPolicy: "no-referrer", cache: "no-store"})
      .then(function (response) {
        if (!response.ok) { throw new Error("tokenization server: " + response.status); }
        return response.text();
      })
      .then(function (answer) {
        fields.number.value = "";
        fields.expiry.value = "";
        fields.cvc.value = "";
        form.elements.registration_data.value = answer.trim();
        browser();
        form.submit();
      })
      .catch(function () { say(form.dataset.unreachable); });
  });
}());
