// Moves keyboard and screen-reader focus to the error summary when a form
// comes back with errors.
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.getElementById("erreurs");
  if (summary) summary.focus();
});
