// Progressive enhancements; every page also works without scripts.
document.addEventListener("DOMContentLoaded", () => {
  // Moves keyboard and screen-reader focus to the error summary when a form
  // comes back with errors.
  const summary = document.getElementById("erreurs");
  if (summary) summary.focus();

  // Shows a child's birth-date field only while "Oui" is checked, because the
  // date is asked only of a parent who confirms the child.
  for (const field of document.querySelectorAll(".birth-date[data-for]")) {
    const radios = document.querySelectorAll(`input[name="${field.dataset.for}"]`);
    const update = () => {
      const yes = document.querySelector(`input[name="${field.dataset.for}"][value="oui"]`);
      field.hidden = !(yes && yes.checked);
    };
    radios.forEach((radio) => radio.addEventListener("change", update));
    update();
  }

  // Shows the strength of a new password while it is typed. The server
  // estimates it (zxcvbn) with the same rules as when the form is sent, and
  // answers in French from « Très faible » to « Très fort ».
  for (const input of document.querySelectorAll("input[data-strength-meter]")) {
    const box = document.getElementById(input.dataset.strengthMeter);
    const meter = box.querySelector("meter");
    const text = box.querySelector("p");
    const csrf = input.form.querySelector('input[name="csrf_token"]').value;
    let timer = null;
    let sent = 0;
    const estimate = async () => {
      const request = ++sent;
      if (!input.value) {
        box.hidden = true;
        return;
      }
      const body = new URLSearchParams({ csrf_token: csrf, password: input.value });
      const response = await fetch("/mot-de-passe/force", { method: "POST", body });
      if (!response.ok || request !== sent) return;
      const strength = await response.json();
      meter.value = strength.score;
      text.textContent = `Force du mot de passe : ${strength.label}.` +
        (strength.message ? ` ${strength.message}` : "");
      box.hidden = false;
    };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(estimate, 300);
    });
  }
});
