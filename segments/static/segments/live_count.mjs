// The rule builder's live count: as rules change, post the builder's own form fields to the count view
// and show its sentence. Progressive enhancement only: without JavaScript the "Count" button does this.
const form = document.getElementById("segment-builder");
const output = document.getElementById("segment-count");

if (form && output && form.dataset.countUrl) {
  let timer;
  let latest = 0;

  const update = async () => {
    const asked = ++latest;
    const body = new FormData(form);
    body.delete("action");
    try {
      const response = await fetch(form.dataset.countUrl, {
        method: "POST", body, credentials: "same-origin", headers: { "X-Requested-With": "fetch" },
      });
      if (asked !== latest) return; // a newer change has already been sent
      if (!response.ok) {
        output.textContent = response.status === 403
          ? "You may not count on these conditions."
          : "The count could not be updated: press “Count”.";
        return;
      }
      const answer = await response.json();
      output.textContent = answer.summary;
    } catch {
      if (asked === latest) output.textContent = "The count could not be updated: press “Count”.";
    }
  };

  const soon = (delay) => {
    clearTimeout(timer);
    timer = setTimeout(update, delay);
  };
  form.addEventListener("change", () => soon(250));
  form.addEventListener("input", (event) => {
    if (event.target.type === "text") soon(700);
  });
}
