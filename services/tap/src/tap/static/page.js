// Clicking an example puts its query in the form (without a script, the link does it).
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.use-example");
  if (!link) return;
  event.preventDefault();
  const text = document.getElementById("query-text");
  text.value = link.dataset.query;
  text.scrollIntoView({ block: "center" });
  text.focus();
});
