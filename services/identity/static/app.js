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
});
