import { request, show } from "/web/api.js";

const form = document.getElementById("analyse");
const message = document.getElementById("message");
const $ = (id) => document.getElementById(id);

function list(element, items) {
  element.replaceChildren(...items.map((text) => {
    const li = document.createElement("li");
    li.textContent = text;
    return li;
  }));
  if (!items.length) element.innerHTML = "<li class='muted'>none</li>";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = new FormData(form);
  if (!$("reference").files.length) body.delete("reference");
  body.append("inline", "1");
  const button = form.querySelector("button");
  button.disabled = true;
  message.hidden = true;
  try {
    const report = await request("POST", "/analyze", body);
    const summary = report.summary;
    $("tier").textContent = summary.risk_tier;
    $("tier").className = "tier " + summary.risk_tier;
    $("risk").textContent = `risk ${summary.risk_percent} %`;
    $("recommendation").textContent = summary.recommendation;
    list($("issues"), summary.issues);
    list($("positives"), summary.positives);
    const maps = $("heatmaps");
    maps.replaceChildren();
    for (const [name, png] of Object.entries(report.heatmap_png)) {
      const figure = document.createElement("figure");
      const img = document.createElement("img");
      img.src = "data:image/png;base64," + png;
      img.alt = name;
      const caption = document.createElement("figcaption");
      caption.textContent = name.replaceAll("_", " ");
      figure.append(img, caption);
      maps.append(figure);
    }
    delete report.heatmap_png;
    $("raw").textContent = JSON.stringify(report, null, 2);
    $("result").hidden = false;
    document.body.dataset.analysed = summary.risk_tier;
  } catch (error) {
    show(message, `${error.code}: ${error.message}`, false);
  } finally {
    button.disabled = false;
  }
});
