// Live figures on the sending progress page. Progressive enhancement: without JavaScript the page
// shows the figures as they were when it loaded, with a link to refresh.
const POLL_MS = 3000;
const root = document.getElementById("send-progress");
const url = root && root.dataset.progressUrl;
const number = (n) => Number(n).toLocaleString("en-GB");

function show(data) {
  const bar = document.getElementById("send-progress-bar");
  bar.max = Math.max(data.total, 1);
  bar.value = data.done;
  bar.textContent = `${data.percent}%`;
  for (const [status, n] of Object.entries(data.counts)) {
    const cell = root.querySelector(`[data-count="${status}"]`);
    if (cell) cell.textContent = number(n);
  }
  const fields = {
    summary: data.summary,
    status_label: data.status_label,
    rate_per_minute: number(data.rate_per_minute),
    estimated_finish: data.estimated_finish || "Not known yet",
  };
  for (const [name, text] of Object.entries(fields)) {
    const el = root.querySelector(`[data-field="${name}"]`);
    if (el && el.textContent !== text) el.textContent = text;
  }
}

async function poll(lastStatus) {
  let data;
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    data = await response.json();
  } catch {
    setTimeout(() => poll(lastStatus), POLL_MS * 2); // a blip: try again a little later
    return;
  }
  show(data);
  if (lastStatus && data.status !== lastStatus) {
    window.location.reload(); // paused, resumed or finished: the buttons and the report change
    return;
  }
  if (data.live) setTimeout(() => poll(data.status), POLL_MS);
}

if (url) setTimeout(() => poll(null), POLL_MS);
